/**
 * Starts `main.ts` as a real server process on a free port, for integration tests and
 * benchmarks, and stops it again.
 *
 * @module
 */
import { TextLineStream } from "./text_lines.ts";
import { testDatabase } from "./database.ts";

const ROOT = new URL("../../", import.meta.url);
/** What `deno task start` grants the server. */
export const SERVER_PERMISSIONS = ["--allow-net", "--allow-env", "--allow-read", "--allow-sys"];

/** A server running in a child process. */
export interface ServerProcess {
  port: number;
  /** `http://127.0.0.1:<port>` */
  httpUrl: string;
  /** `ws://127.0.0.1:<port>` (`wss://` with `HTTPS=on`) */
  wsUrl: string;
  /** The certificate to trust, with `HTTPS=on` (its CERT_PATH). */
  ca?: string;
  /** Resolves with the exit code once the process has exited (by itself or stopped). */
  exited(): Promise<number>;
  /** Fetches a path of the server (trusting `ca`). */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** The UDP port of WebTransport, if it runs. */
  wtPort: number | undefined;
  pid: number;
  /** Log lines the server wrote so far (JSON). */
  logs: Record<string, unknown>[];
  /**
   * Reads one metric series from `/metrics`. A labelled series the server has not counted yet is
   * 0; a metric the server does not export at all is an error, so a misspelt name cannot pass.
   */
  metric(name: string, labels?: string): Promise<number>;
  /** Sends SIGTERM and waits for a clean exit; returns the exit code. */
  stop(): Promise<number>;
  /** Sends SIGKILL (a crash) and waits. */
  kill(): Promise<void>;
}

/**
 * What test and benchmark servers run with unless a test says otherwise. Every client of a test
 * connects from 127.0.0.1, so the bounds per client address are lifted; the tests of those
 * bounds (tests/hardening_test.ts) set them.
 */
const TEST_DEFAULTS: Record<string, string> = {
  PORT: "0",
  HOST: "127.0.0.1",
  WT_PORT: "0",
  LOG_LEVEL: "info",
  NATS_URL: "",
  MAX_CONNECTIONS_PER_ADDRESS: "1000000",
  CONNECTIONS_PER_ADDRESS_PER_MINUTE: "1000000",
  NEW_MEETINGS_PER_ADDRESS_PER_HOUR: "1000000",
  // Floods and large-packet tests measure other things; tests/limits_test.ts sets these.
  MAX_KBPS_PER_PARTICIPANT: "0",
  MAX_VIDEO_KBPS_PER_PARTICIPANT: "0",
  // Tests stop their servers with SIGTERM while other tests' servers share NATS: no drain wait
  // unless a test asks for one (tests/drain_test.ts).
  DRAIN_TIMEOUT_MS: "0",
  // The pages of the code under test, bundled on demand: a build folder left from another run
  // could be stale. tests/edge_test.ts serves a build.
  PREBUILT_BUNDLE: "off",
};

/** How to run the server process, beyond its environment. */
export interface ServerRunOptions {
  /**
   * `deno run`'s arguments before `main.ts` in place of ours (all permissions the server needs,
   * the config's unstable features): how an edge host would run it.
   */
  runArgs?: string[];
}

/**
 * Starts a server with `env` added to the environment (PORT defaults to 0: any free port).
 */
export async function startServerProcess(
  env: Record<string, string> = {},
  options: ServerRunOptions = {},
): Promise<ServerProcess> {
  const database = env.DATABASE_URL !== undefined || env.DATA_DIR !== undefined
    ? undefined
    : await testDatabase();
  env = { ...database?.env, ...env };
  // The port is read from the "listening" line, which is logged at info level.
  const level = env.LOG_LEVEL ?? "info";
  if (level !== "info" && level !== "debug") {
    throw new Error(`startServerProcess() needs LOG_LEVEL info or debug, got "${level}"`);
  }
  const command = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...(options.runArgs ?? [
        ...SERVER_PERMISSIONS,
        ...(env.DATA_DIR ? [`--allow-write=${env.DATA_DIR}`] : []),
      ]),
      "main.ts",
    ],
    cwd: ROOT,
    env: { ...TEST_DEFAULTS, ...env },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  });
  const child = command.spawn();
  const logs: Record<string, unknown>[] = [];
  const listening = Promise.withResolvers<number>();
  let wtPort: number | undefined;
  const reading = (async () => {
    const lines = child.stderr.pipeThrough(new TextDecoderStream()).pipeThrough(
      new TextLineStream(),
    );
    for await (const line of lines) {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line);
      } catch {
        record = { event: "stderr", line };
      }
      logs.push(record);
      if (record.event === "listening") {
        wtPort = record.wtPort as number | undefined;
        listening.resolve(record.port as number);
      }
    }
    listening.reject(new Error(`Server exited before listening:\n${JSON.stringify(logs)}`));
  })();
  const timer = setTimeout(
    () => listening.reject(new Error("Server did not start listening within 15 s")),
    15_000,
  );
  let port: number;
  try {
    port = await listening.promise;
  } catch (error) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await child.status;
    await reading.catch(() => {});
    await database?.cleanup();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  // With HTTPS=on the server presents CERT_PATH's certificate: trust it for our own requests.
  const https = env.HTTPS === "on";
  const ca = https ? await Deno.readTextFile(env.CERT_PATH) : undefined;
  const httpClient = ca === undefined ? undefined : Deno.createHttpClient({ caCerts: [ca] });
  const httpUrl = `${https ? "https" : "http"}://127.0.0.1:${port}`;
  let exited: Promise<number> | undefined;
  const wait = () => {
    exited ??= (async () => {
      const status = await child.status;
      await reading;
      await database?.cleanup();
      httpClient?.close();
      return status.code;
    })();
    return exited;
  };
  return {
    port,
    httpUrl,
    wsUrl: `${https ? "wss" : "ws"}://127.0.0.1:${port}`,
    wtPort,
    ca,
    pid: child.pid,
    logs,
    fetch: (path, init) => fetch(`${httpUrl}${path}`, { ...init, client: httpClient }),
    exited: wait,
    async metric(name, labels) {
      const text = await (await fetch(`${httpUrl}/metrics`, { client: httpClient })).text();
      const key = labels === undefined ? name : `${name}{${labels}}`;
      const lines = text.split("\n");
      for (const line of lines) {
        if (line.startsWith(key + " ")) return Number(line.slice(key.length + 1));
      }
      if (!lines.some((line) => line.startsWith(`# TYPE ${name} `))) {
        throw new Error(`The server exports no metric named ${name}`);
      }
      if (labels === undefined) throw new Error(`Metric ${name} has labels; name the series`);
      return 0;
    },
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      return await wait();
    },
    async kill() {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
      await wait();
    },
  };
}
