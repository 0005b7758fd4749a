/**
 * The relay benchmark's command line: which targets to measure over which transports, the
 * population, the load ladder and the pass mark.
 *
 * @example
 * ```ts
 * import { parseOptions } from "./options.ts";
 *
 * const options = parseOptions(["--mode", "single", "--transport", "wt,ws"]);
 * const names = options.targets.map((t) => `${t.mode}/${t.mix}`);
 * if (names.join() !== "single/ws,single/wt") throw new Error(names.join());
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { TRANSPORT_MIXES, type TransportMix } from "./participants.ts";
import type { Population } from "./targets.ts";

/** How many servers, on which bus. */
export type Mode = "single" | "nats";

/** One relay target of the run: a mode and the transports of its participants. */
export interface TargetSpec {
  mode: Mode;
  mix: TransportMix;
}

/** Everything the benchmark was asked to do. */
export interface Options {
  /** Relay targets, in the order they run. */
  targets: TargetSpec[];
  /** Whether raw NATS (the ceiling) is measured too. */
  ceiling: boolean;
  population: Population;
  stepMs: number;
  /** The load ladder asked for on the command line; otherwise each transport has its own. */
  steps?: number[];
  budgetMs: number;
  p99LimitMs: number;
  natsUrl: string;
  queueDepth?: string;
  /**
   * A load every relay target runs once before its climb, so their server CPU per delivery can be
   * compared at the same load (undefined: none).
   */
  compareAt?: number;
}

const WS_STEPS = "0.25,0.5,0.625,0.75,0.875,1,1.25,1.5,2,3";
const WT_STEPS = "0.125,0.1875,0.25,0.375,0.5,0.75,1,1.5,2";
const WT1_STEPS = "0.015625,0.03125,0.0625,0.09375,0.125,0.1875,0.25,0.375,0.5,0.75,1";

/**
 * Load ladders by transport. WebTransport with one QUIC stream per packet and receiver (`wt1`,
 * videocall-rs's framing) holds about a tenth of what WebSocket holds here, so its ladder starts
 * at 1/64 and climbs in fine steps; grouped WebTransport (and a mixed room, held back by its
 * WebTransport half) starts at 1/8: on this machine the benchmark's own Deno WebTransport clients
 * run out of CPU around 1/4.
 */
const DEFAULT_STEPS: Record<TransportMix, string> = {
  ws: WS_STEPS,
  wss: WS_STEPS,
  wt: WT_STEPS,
  wt1: WT1_STEPS,
  mixed: WT_STEPS,
};

/**
 * The default matrix: on one server every transport a client may use — WebSocket, WebSocket over
 * TLS, grouped WebTransport and videocall-rs's one-packet-per-stream WebTransport (the baseline
 * grouped framing replaced) — and WebSocket and grouped WebTransport on the NATS pair. `--transport
 * all` adds mixed rooms and the rest of the NATS pair.
 */
const DEFAULT_MATRIX: TargetSpec[] = [
  { mode: "single", mix: "ws" },
  { mode: "single", mix: "wss" },
  { mode: "single", mix: "wt" },
  { mode: "single", mix: "wt1" },
  { mode: "nats", mix: "ws" },
  { mode: "nats", mix: "wt" },
];

const USAGE = "Usage: deno task bench:relay [--mode single|nats|both] " +
  "[--transport ws|wss|wt|wt1|mixed|all (or a list: ws,wt)] [--rooms N] [--participants N] " +
  "[--step-s S] [--steps 0.5,1,2] [--budget-s S] [--p99-ms MS] [--queue-depth N] " +
  "[--nats-url URL] [--no-ceiling] [--compare-at LOAD (0: off)]";

function usage(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  Deno.exit(2);
}

function positive(name: string, raw: string, integer: boolean): number {
  const value = Number(raw);
  if (!(value > 0) || (integer && !Number.isInteger(value))) {
    usage(`--${name} must be a positive ${integer ? "whole " : ""}number, got "${raw}"`);
  }
  return value;
}

function parseModes(raw: string | undefined): Mode[] | undefined {
  if (raw === undefined) return undefined;
  if (raw === "single" || raw === "nats") return [raw];
  if (raw === "both") return ["single", "nats"];
  usage(`--mode must be single, nats or both, got "${raw}"`);
}

function parseMixes(raw: string | undefined): TransportMix[] | undefined {
  if (raw === undefined) return undefined;
  if (raw === "all") return [...TRANSPORT_MIXES];
  const wanted = new Set<string>();
  for (const part of raw.split(",")) {
    const name = part.trim();
    if (!(TRANSPORT_MIXES as readonly string[]).includes(name)) {
      usage(`--transport must be ws, wss, wt, wt1, mixed, all or a list of them, got "${name}"`);
    }
    wanted.add(name);
  }
  return TRANSPORT_MIXES.filter((m) => wanted.has(m));
}

// The relay targets to run: the default matrix, narrowed by --mode and/or --transport.
function matrix(modes?: Mode[], mixes?: TransportMix[]): TargetSpec[] {
  if (mixes === undefined) return DEFAULT_MATRIX.filter((t) => modes?.includes(t.mode) ?? true);
  return (modes ?? ["single", "nats"]).flatMap((mode) => mixes.map((mix) => ({ mode, mix })));
}

// The ceiling holds every step below 0.5x with room to spare: its climb starts there.
const CEILING_STEPS = "0.5,0.75,1,1.25,1.5,2,3";

/** The load ladder of a target (a transport mix, or the ceiling): as asked, or the default. */
export function stepsFor(options: Options, target: TransportMix | "ceiling"): number[] {
  const ladder = target === "ceiling" ? CEILING_STEPS : DEFAULT_STEPS[target];
  return options.steps ?? ladder.split(",").map(Number);
}

/** Parses the command line, printing usage and exiting with 2 on a mistake. */
export function parseOptions(args: string[]): Options {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        mode: { type: "string" },
        transport: { type: "string" },
        rooms: { type: "string", default: "10" },
        participants: { type: "string", default: "10" },
        "step-s": { type: "string", default: "4" },
        steps: { type: "string" },
        "budget-s": { type: "string", default: "34" },
        "p99-ms": { type: "string", default: "50" },
        "queue-depth": { type: "string" },
        "nats-url": { type: "string" },
        "no-ceiling": { type: "boolean", default: false },
        "compare-at": { type: "string", default: "0.125" },
      },
    });
  } catch (error) {
    usage(error instanceof Error ? error.message : String(error));
  }
  const v = parsed.values;
  const perRoom = positive("participants", v.participants, true);
  if (perRoom < 2) usage("--participants must be at least 2: someone has to receive");
  const steps = v.steps?.split(",").map((s) => positive("steps", s.trim(), false));
  return {
    targets: matrix(parseModes(v.mode), parseMixes(v.transport)),
    ceiling: !v["no-ceiling"],
    population: {
      rooms: positive("rooms", v.rooms, true),
      perRoom,
      runId: crypto.randomUUID().slice(0, 8),
    },
    stepMs: positive("step-s", v["step-s"], false) * 1000,
    steps: steps?.toSorted((a, b) => a - b),
    budgetMs: positive("budget-s", v["budget-s"], false) * 1000,
    p99LimitMs: positive("p99-ms", v["p99-ms"], false),
    natsUrl: v["nats-url"] ?? (Deno.env.get("NATS_URL") || "nats://127.0.0.1:4222"),
    queueDepth: v["queue-depth"] === undefined
      ? undefined
      : String(positive("queue-depth", v["queue-depth"], true)),
    // `--compare-at 0` turns the same-load step off.
    compareAt: v["compare-at"] === "0" ? undefined : positive("compare-at", v["compare-at"], false),
  };
}
