/**
 * Long fuzzing runs: every target of `tests/fuzz_targets.ts` (or those named), in rounds with
 * a fresh seed each, until the time is up. Prints the inputs tried per target, and for each
 * failure the seed, the input as hex and the error; exits 1 when anything failed or hung.
 *
 * ```sh
 * deno run -A tools/fuzz.ts --seconds 600                 # everything, random seeds
 * deno run -A tools/fuzz.ts --target codec.media --seed 7 # one target, reproducibly
 * deno run -A tools/fuzz.ts --target framing --replay 0000000501  # check one input
 * deno run -A tools/fuzz.ts --list
 * ```
 *
 * `--seconds N` (default 60), `--seed S` (the first round's seed; the next rounds take S+1,
 * S+2…; default random), `--target NAME` (repeatable; default all), `--hang-seconds H` (default
 * 10: an input that takes longer is reported as a hang, with its hex). A failing input kept as
 * `tests/fuzz_regressions/<target>.<what>.hex` is replayed by `tests/fuzz_test.ts`.
 *
 * The targets run in a worker, which writes each input to shared memory before checking it: a
 * hang is caught from outside, with the input that caused it.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { FUZZ_TARGETS, fuzzTarget } from "../tests/fuzz_targets.ts";
import { fromHex, toHex } from "../tests/support/fuzz.ts";
import { type FuzzEvent, type FuzzJob, SHARED } from "./fuzz_messages.ts";

interface Options {
  seconds: number;
  seed: number;
  targets: string[];
  hangSeconds: number;
  replay?: string;
  list: boolean;
}

const USAGE = "Usage: deno run -A tools/fuzz.ts [--seconds N] [--seed S] [--target NAME]... " +
  "[--hang-seconds H] [--replay HEX] [--list]";

/** The command line, or a message saying what is wrong with it. */
export function parseFuzzArgs(args: string[]): Options | string {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        seconds: { type: "string" },
        seed: { type: "string" },
        target: { type: "string", multiple: true },
        "hang-seconds": { type: "string" },
        replay: { type: "string" },
        list: { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    return (error as Error).message;
  }
  const number = (text: string | undefined, fallback: number, name: string) => {
    if (text === undefined) return fallback;
    const value = Number(text);
    return Number.isFinite(value) && value >= 0
      ? value
      : `--${name} must be a number, got "${text}"`;
  };
  const seconds = number(parsed.seconds, 60, "seconds");
  const hangSeconds = number(parsed["hang-seconds"], 10, "hang-seconds");
  const seed = number(parsed.seed, crypto.getRandomValues(new Uint32Array(1))[0], "seed");
  for (const value of [seconds, hangSeconds, seed]) if (typeof value === "string") return value;
  const targets = parsed.target ?? FUZZ_TARGETS.map((t) => t.name);
  const unknown = targets.find((name) => fuzzTarget(name) === undefined);
  if (unknown !== undefined) return `Unknown target "${unknown}" (--list shows them)`;
  if (parsed.replay !== undefined && targets.length !== 1) {
    return "--replay needs exactly one --target";
  }
  return {
    seconds: seconds as number,
    hangSeconds: hangSeconds as number,
    seed: (seed as number) >>> 0,
    targets,
    replay: parsed.replay,
    list: parsed.list ?? false,
  };
}

/** Checks one input against one target; prints the verdict; returns the exit code. */
async function replay(name: string, hex: string): Promise<number> {
  const target = fuzzTarget(name)!;
  const input = fromHex(hex);
  await target.open?.();
  try {
    const accepted = await target.check(input);
    console.log(`${name}: the contract holds (${accepted ? "accepted" : "refused"})`);
    return 0;
  } catch (error) {
    console.log(`${name}: FAILED on ${toHex(input)}`);
    console.log(error instanceof Error ? error.stack : String(error));
    return 1;
  } finally {
    await target.close?.();
  }
}

interface Tally {
  iterations: number;
  accepted: number;
  seeds: number;
}

/** Runs the job in a worker, watching for hangs; prints as it goes; returns the exit code. */
async function run(options: Options): Promise<number> {
  const shared = new SharedArrayBuffer(SHARED.SIZE);
  const words = new Int32Array(shared, 0, 2);
  const tally = new Map(
    options.targets.map((name) => [name, { iterations: 0, accepted: 0, seeds: 0 }]),
  );
  const worker = new Worker(new URL("./fuzz_worker.ts", import.meta.url), { type: "module" });
  const durationMs = options.seconds * 1000;
  const job: FuzzJob = {
    targets: options.targets,
    baseSeed: options.seed,
    durationMs,
    // Every target gets a turn in the first round, however short the run; long runs go round
    // again with new seeds every 10 s per target.
    sliceMs: Math.max(100, Math.min(10_000, durationMs / options.targets.length)),
    shared,
  };
  console.log(
    `Fuzzing ${options.targets.length} target(s) for ${options.seconds} s from seed ${options.seed}`,
  );
  let failures = 0;
  let current = { target: "", seed: 0 };
  const finished = new Promise<"finished" | "crashed">((resolve) => {
    worker.onmessage = (message: MessageEvent<FuzzEvent>) => {
      const event = message.data;
      switch (event.kind) {
        case "slice":
          current = { target: event.target, seed: event.seed };
          return;
        case "progress": {
          const t = tally.get(event.target)!;
          t.iterations += event.iterations;
          t.accepted += event.accepted;
          t.seeds++;
          return;
        }
        case "failure":
          failures++;
          console.log(`\nFAILED: ${event.target}, seed ${event.seed}, input #${event.iteration}`);
          console.log(`input hex: ${event.hex || "(none: the target's setup failed)"}`);
          console.log(event.error);
          console.log(
            `reproduce: deno run -A tools/fuzz.ts --target ${event.target} --seed ${event.seed}\n` +
              `replay:    deno run -A tools/fuzz.ts --target ${event.target} --replay ${event.hex}`,
          );
          return;
        case "finished":
          resolve("finished");
      }
    };
    worker.onerror = (error: ErrorEvent) => {
      error.preventDefault();
      const where = current.target === ""
        ? "before any target started"
        : `${current.target}, seed ${current.seed}`;
      console.log(`\nCRASHED: ${where}: ${error.message}`);
      console.log(`input hex: ${lastInput(shared)}`);
      resolve("crashed");
    };
  });
  // A hang: the input counter stands still for longer than --hang-seconds.
  const hang = Promise.withResolvers<"hung">();
  let lastCount = Atomics.load(words, SHARED.COUNTER);
  let stillSince = performance.now();
  const watch = setInterval(() => {
    const count = Atomics.load(words, SHARED.COUNTER);
    if (count !== lastCount) {
      lastCount = count;
      stillSince = performance.now();
    } else if (performance.now() - stillSince >= options.hangSeconds * 1000) {
      const input = lastInput(shared);
      console.log(
        `\nHUNG: ${current.target}, seed ${current.seed}: no input done for ` +
          `${options.hangSeconds} s\ninput hex: ${input}\n` +
          `replay:    deno run -A tools/fuzz.ts --target ${current.target} --replay ${input}`,
      );
      hang.resolve("hung");
    }
  }, 250);
  worker.postMessage(job);
  const outcome = await Promise.race([finished, hang.promise]);
  clearInterval(watch);
  worker.terminate();
  console.log(`\n${"target".padEnd(24)} ${"inputs".padStart(10)} ${"accepted".padStart(9)}  seeds`);
  for (const [name, t] of tally) {
    const share = t.iterations === 0 ? 0 : Math.round((100 * t.accepted) / t.iterations);
    console.log(
      `${name.padEnd(24)} ${String(t.iterations).padStart(10)} ${
        `${share}%`.padStart(9)
      }  ${t.seeds}`,
    );
  }
  const bad = failures > 0 || outcome !== "finished";
  console.log(
    bad ? `\n${failures + (outcome === "finished" ? 0 : 1)} failure(s)` : "\nNo failures",
  );
  return bad ? 1 : 0;
}

// The input the worker was checking last, as hex (cut inputs say so).
function lastInput(shared: SharedArrayBuffer): string {
  const length = Atomics.load(new Int32Array(shared, 0, 2), SHARED.LENGTH);
  const held = Math.min(length, SHARED.SIZE - SHARED.BYTES_AT);
  const hex = toHex(new Uint8Array(shared, SHARED.BYTES_AT, held));
  return held < length ? `${hex} (first ${held} of ${length} bytes)` : hex;
}

if (import.meta.main) {
  const options = parseFuzzArgs(Deno.args);
  if (typeof options === "string") {
    console.error(`${options}\n${USAGE}`);
    Deno.exit(2);
  }
  if (options.list) {
    for (const target of FUZZ_TARGETS) console.log(target.name);
    Deno.exit(0);
  }
  Deno.exit(
    options.replay !== undefined
      ? await replay(options.targets[0], options.replay)
      : await run(options),
  );
}
