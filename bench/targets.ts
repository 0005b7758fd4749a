/**
 * The systems the relay benchmark measures: our relay (one server on the in-process bus, or two
 * on NATS) reached by WebSocket and/or WebTransport participants, and the ceiling, where the same
 * participants talk straight through NATS with no relay in between.
 *
 * @module
 */
import { generateCertificate } from "../lib/relay/certificate.ts";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { type ServerProcess, startServerProcess } from "../tests/support/server_process.ts";
import type { Sender } from "./load.ts";
import { wrapperData } from "./media_packets.ts";
import {
  type MediaSink,
  ParticipantFactory,
  type RelayParticipant,
  type TransportKind,
  type TransportMix,
  transportOf,
} from "./participants.ts";
import { withTimeout } from "./with_timeout.ts";

export type { MediaSink, TransportKind, TransportMix } from "./participants.ts";

/** A process whose CPU and memory the benchmark reports. */
export interface Watched {
  /** A short name for tables (`server1`). */
  label: string;
  /** Its process id. */
  pid: number;
}

/** A system under test with its participants connected and ready. */
export interface Target {
  /** Every participant, in room order. */
  readonly participants: Sender[];
  /** Size of each room (every packet should reach `roomSize - 1` receivers). */
  readonly roomSize: number;
  /** Whether every receiver gets audio as datagrams (grouped WebTransport), which may be lost. */
  readonly audioOnDatagrams?: boolean;
  /** Our server processes (none for the ceiling). */
  readonly servers: Watched[];
  /**
   * Deliveries expected so far by the receivers' transport, from what every participant sent
   * (absent for the ceiling).
   */
  expectedByReceiver?(): Record<TransportKind, number>;
  /** Packets the servers dropped so far, by reason. */
  drops(): Promise<Record<string, number>>;
  /** Participants whose connection ended unexpectedly. */
  lostConnections(): number;
  /** Warnings and errors the servers logged so far, counted by event. */
  serverWarnings(): Record<string, number>;
  /** Closes every participant and stops every server. */
  close(): Promise<void>;
}

/** The shape of the load. */
export interface Population {
  /** Number of rooms. */
  rooms: number;
  /** Participants in each room. */
  perRoom: number;
  /** Unique per run, so rooms and subjects never meet another run's traffic on shared NATS. */
  runId: string;
}

const READY_TIMEOUT_MS = 20_000;
const CLOSE_TIMEOUT_MS = 3_000;
const SERVER_STOP_TIMEOUT_MS = 8_000;

// Every server and NATS connection not yet closed, for emergencyStop.
const liveServers = new Set<ServerProcess>();
const liveConnections = new Set<NatsConnection>();

async function stopServer(server: ServerProcess): Promise<void> {
  try {
    await withTimeout(server.stop(), SERVER_STOP_TIMEOUT_MS, `Stopping server ${server.pid}`);
  } catch {
    await server.kill();
  }
  liveServers.delete(server);
}

/**
 * Kills every server this module started and closes every NATS connection it opened, at once
 * (for an interrupted or overrunning benchmark; {@linkcode Target.close} is the orderly way).
 */
export async function emergencyStop(): Promise<void> {
  await Promise.allSettled([
    ...[...liveServers].map((s) => s.kill()),
    ...[...liveConnections].map((nc) => nc.close()),
  ]);
  liveServers.clear();
  liveConnections.clear();
  await removeTlsFiles();
}

/** Sums `videocall_drops_total` series by reason from a server's `/metrics`. */
async function readDrops(server: ServerProcess, into: Record<string, number>): Promise<void> {
  const text = await (await server.fetch("/metrics")).text();
  for (const line of text.split("\n")) {
    const match = /^videocall_drops_total(?:\{reason="([^"]*)"\})? ([0-9.e+]+)$/.exec(line);
    if (match) into[match[1] ?? ""] = (into[match[1] ?? ""] ?? 0) + Number(match[2]);
  }
}

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Deliveries every receiver transport should have had, given what each participant sent: every
 * packet goes to every other participant of its room.
 */
function expectedDeliveries(
  rooms: RelayParticipant[][],
): Record<TransportKind, number> {
  const out: Record<TransportKind, number> = { ws: 0, wt: 0 };
  for (const room of rooms) {
    const count = { ws: 0, wt: 0 };
    for (const p of room) count[p.kind]++;
    for (const p of room) {
      out.ws += p.sent * (count.ws - (p.kind === "ws" ? 1 : 0));
      out.wt += p.sent * (count.wt - (p.kind === "wt" ? 1 : 0));
    }
  }
  return out;
}

/**
 * Starts `instances` servers (two or more share `natsUrl`), connects the participants of each
 * room round-robin across them over the transports `mix` asks for, and waits until every
 * participant has seen every other one join, which proves each server's room subscription is
 * live.
 */
export async function startRelayTarget(options: {
  population: Population;
  instances: number;
  mix: TransportMix;
  natsUrl: string;
  env: Record<string, string>;
  sink: MediaSink;
}): Promise<Target> {
  const { population, instances, mix } = options;
  const servers: ServerProcess[] = [];
  const rooms: RelayParticipant[][] = [];
  const participants: RelayParticipant[] = [];
  const factory = new ParticipantFactory(options.sink);
  let closing = false;
  const close = async () => {
    closing = true;
    await Promise.all(participants.map((p) => p.close()));
    await Promise.all(servers.map(stopServer));
  };
  try {
    // LOG_LEVEL stays at info: startServerProcess waits for the "listening" line, an info line.
    // WebTransport listens on loopback only, like HTTP (HOST=127.0.0.1 in startServerProcess).
    const env: Record<string, string> = {
      ...options.env,
      LOG_LEVEL: "info",
      WT_HOST: "127.0.0.1",
      NATS_URL: instances > 1 ? options.natsUrl : "",
    };
    // WSS: the servers serve HTTPS with a throwaway certificate the participants trust.
    if (mix === "wss") Object.assign(env, await tlsFiles());
    for (let i = 0; i < instances; i++) {
      const server = await startServerProcess(env);
      servers.push(server);
      liveServers.add(server);
    }
    for (let room = 0; room < population.rooms; room++) {
      const roomId = `bench-${population.runId}-r${room}`;
      const settled = await Promise.allSettled(
        Array.from({ length: population.perRoom }, (_, i) =>
          factory.connect(
            servers[i % instances],
            transportOf(mix, i, population.perRoom),
            `r${room}-p${i}`,
            roomId,
            mix === "wt1" ? "single" : "groups",
          )),
      );
      const members: RelayParticipant[] = [];
      for (const outcome of settled) {
        if (outcome.status === "rejected") continue;
        const p = outcome.value;
        members.push(p);
        participants.push(p);
        p.client.closed.then(() => {
          if (!closing) p.closedEarly = true;
        });
      }
      rooms.push(members);
      const failed = settled.find((o) => o.status === "rejected");
      if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    }
    for (const p of participants) p.client.heartbeat();
    const others = population.perRoom - 1;
    await waitFor(
      () => participants.every((p) => p.joined.size >= others),
      READY_TIMEOUT_MS,
      "Not every participant saw the others of its room join",
    );
  } catch (error) {
    await close();
    throw error;
  }
  return {
    participants,
    roomSize: population.perRoom,
    audioOnDatagrams: mix === "wt",
    servers: servers.map((s, i) => ({ label: `server${i + 1}`, pid: s.pid })),
    expectedByReceiver: () => expectedDeliveries(rooms),
    async drops() {
      const out: Record<string, number> = {};
      for (const s of servers) await readDrops(s, out);
      return out;
    },
    lostConnections: () => participants.filter((p) => p.closedEarly).length,
    serverWarnings() {
      const out: Record<string, number> = {};
      for (const record of servers.flatMap((s) => s.logs)) {
        if (record.level === "warn" || record.level === "error" || record.event === "stderr") {
          const key = `${record.level ?? "stderr"}:${record.event}`;
          out[key] = (out[key] ?? 0) + 1;
        }
      }
      return out;
    },
    close,
  };
}

/** A participant on its own NATS connection, as a client of a relay-less design would be. */
class NatsParticipant implements Sender {
  readonly userId: string;
  readonly nc: NatsConnection;
  readonly #subject: string;

  constructor(userId: string, nc: NatsConnection, subject: string) {
    this.userId = userId;
    this.nc = nc;
    this.#subject = subject;
  }

  send(bytes: Uint8Array): void {
    // nats.js keeps a reference to the payload until its next flush; the template is reused.
    this.nc.publish(this.#subject, bytes.slice());
  }
}

/**
 * The ceiling: one NATS connection per participant (with `noEcho`), publishing to
 * `bench.<run>.<room>.<participant>` and subscribed to `bench.<run>.<room>.*`, carrying the same
 * packets our clients send to the relay.
 */
export async function startNatsCeiling(options: {
  population: Population;
  natsUrl: string;
  sink: MediaSink;
}): Promise<Target> {
  const { population, sink } = options;
  const participants: NatsParticipant[] = [];
  let closing = false;
  let lost = 0;
  const close = async () => {
    closing = true;
    await Promise.all(participants.map(async (p) => {
      try {
        await withTimeout(p.nc.drain(), CLOSE_TIMEOUT_MS, "Draining a NATS connection");
      } catch {
        await p.nc.close();
      }
      liveConnections.delete(p.nc);
    }));
  };
  try {
    for (let room = 0; room < population.rooms; room++) {
      const prefix = `bench.${population.runId}.r${room}`;
      for (let i = 0; i < population.perRoom; i++) {
        const userId = `r${room}-p${i}`;
        const nc = await connect({
          servers: options.natsUrl,
          name: `bench-${userId}`,
          noEcho: true,
          maxReconnectAttempts: 0,
        });
        liveConnections.add(nc);
        nc.subscribe(`${prefix}.*`, {
          callback: (err, msg) => {
            if (err !== null) return;
            const media = wrapperData(msg.data);
            if (media !== undefined) sink(media, performance.now());
          },
        });
        nc.closed().then(() => {
          if (!closing) lost++;
        });
        participants.push(new NatsParticipant(userId, nc, `${prefix}.p${i}`));
      }
    }
    // A flush round-trips to the server, so every subscription is in place afterwards.
    await Promise.all(participants.map((p) => p.nc.flush()));
  } catch (error) {
    await close();
    throw error;
  }
  return {
    participants,
    roomSize: population.perRoom,
    servers: [],
    drops: () => Promise.resolve({}),
    lostConnections: () => lost,
    serverWarnings: () => ({}),
    close,
  };
}

let tls: Promise<Record<string, string>> | undefined;

/**
 * HTTPS=on with a certificate and key made for this run (ECDSA P-256 for 127.0.0.1), written to a
 * temporary directory that {@linkcode emergencyStop} and the end of the process remove.
 */
function tlsFiles(): Promise<Record<string, string>> {
  tls ??= (async () => {
    const cert = await generateCertificate({});
    const dir = await Deno.makeTempDir({ prefix: "bench-tls-" });
    tlsDirs.push(dir);
    await Deno.writeTextFile(`${dir}/cert.pem`, cert.certPem);
    await Deno.writeTextFile(`${dir}/key.pem`, cert.keyPem);
    return { HTTPS: "on", CERT_PATH: `${dir}/cert.pem`, KEY_PATH: `${dir}/key.pem` };
  })();
  return tls;
}

const tlsDirs: string[] = [];

/** Removes the certificates made for WSS targets. */
export async function removeTlsFiles(): Promise<void> {
  for (const dir of tlsDirs.splice(0)) await Deno.remove(dir, { recursive: true }).catch(() => {});
  tls = undefined;
}
