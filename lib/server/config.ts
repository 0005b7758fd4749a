/**
 * Server configuration from the environment and command-line flags (a flag wins over its
 * variable). Every setting has a default, so `deno task start` needs none.
 *
 * | variable | flag | default |
 * |---|---|---|
 * | `PORT` | `--port` | 8080 |
 * | `HOST` | `--host` | `0.0.0.0` |
 * | `NATS_URL` | `--nats-url` | empty: in-process bus |
 * | `MAX_PACKET_BYTES` | `--max-packet-bytes` | 4000000 |
 * | `QUEUE_DEPTH` | `--queue-depth` | 256 packets per receiver |
 * | `MAX_QUEUE_DELAY_MS` | `--max-queue-delay-ms` | 500 |
 * | `MAX_PACKETS_PER_SECOND` | `--max-packets-per-second` | 500 |
 * | `CHAT_MESSAGES_PER_SECOND` | `--chat-messages-per-second` | 5 (burst 20) |
 * | `LEAVE_GRACE_MS` | `--leave-grace-ms` | 2000 |
 * | `PRESENCE_HEARTBEAT_MS` | `--presence-heartbeat-ms` | 5000 |
 * | `PRESENCE_TIMEOUT_MS` | `--presence-timeout-ms` | 15000 |
 * | `IDLE_TIMEOUT_MS` | `--idle-timeout-ms` | 30000 |
 * | `PING_INTERVAL_MS` | `--ping-interval-ms` | 5000 |
 * | `LOG_LEVEL` | `--log-level` | `info` |
 * | `WT_PORT` | `--wt-port` | 4433 (UDP; `off` disables WebTransport) |
 * | `WT_HOST` | `--wt-host` | `::` |
 * | `CERT_PATH` / `KEY_PATH` | `--cert-path` / `--key-path` | empty: a self-signed certificate |
 * | `CERT_VALIDITY_MS` | `--cert-validity-ms` | 13 days (Chromium allows at most 14) |
 * | `WT_STREAM_TIMEOUT_MS` | `--wt-stream-timeout-ms` | 10000 |
 * | `MAX_DATAGRAMS_PER_SECOND` | `--max-datagrams-per-second` | 200 |
 * | `WT_IDLE_TIMEOUT_MS` | `--wt-idle-timeout-ms` | 10000 (QUIC idle timeout) |
 * | `AUTH` | `--auth` | `open` (ids from the URL) or `required` (tokens only) |
 * | `JWT_SECRET` | — | random per process in open mode; required (32+ bytes) with `AUTH=required` |
 * | `DATABASE_URL` | `--database-url` | empty: embedded Postgres (PGlite) under `DATA_DIR` |
 * | `DATABASE_SCHEMA` | `--database-schema` | the server's default search_path |
 * | `DATA_DIR` | `--data-dir` | `./data` |
 *
 * @module
 */
import { isLogLevel, type LogLevel } from "../log.ts";
import { DEFAULT_RELAY_LIMITS, type RelayLimits } from "../relay/limits.ts";

/** The server's settings. */
export interface ServerConfig {
  port: number;
  host: string;
  /** Empty for the in-process bus. */
  natsUrl: string;
  logLevel: LogLevel;
  limits: RelayLimits;
  /** UDP port for WebTransport; undefined when disabled. */
  wtPort: number | undefined;
  wtHost: string;
  /** PEM files to serve instead of a self-signed certificate (both or neither). */
  certPath: string;
  keyPath: string;
  /** Validity of self-signed certificates. */
  certValidityMs: number;
  /** A WebTransport client stream not finished within this time ends its session. */
  wtStreamTimeoutMs: number;
  /** WebTransport datagrams accepted per second per session. */
  maxDatagramsPerSecond: number;
  /** QUIC idle timeout: how soon a vanished WebTransport peer is noticed. */
  wtIdleTimeoutMs: number;
  /** `open`: user ids from URLs and guest sessions; `required`: tokens only. */
  auth: "open" | "required";
  /** The token secret; undefined in open mode without one (a random one is made). */
  jwtSecret: string | undefined;
  /** Empty for the embedded PGlite store. */
  databaseUrl: string;
  databaseSchema: string | undefined;
  dataDir: string;
}

/** Longest validity Chromium accepts for a certificate pinned by hash. */
export const MAX_CERT_VALIDITY_MS = 14 * 24 * 3600 * 1000;

/** The outcome of {@linkcode loadConfig}. */
export type ConfigResult = { ok: true; config: ServerConfig } | { ok: false; error: string };

interface Setting {
  env: string;
  flag: string;
}

const SETTINGS = {
  port: { env: "PORT", flag: "port" },
  host: { env: "HOST", flag: "host" },
  natsUrl: { env: "NATS_URL", flag: "nats-url" },
  maxPacketBytes: { env: "MAX_PACKET_BYTES", flag: "max-packet-bytes" },
  queueDepth: { env: "QUEUE_DEPTH", flag: "queue-depth" },
  maxQueueDelayMs: { env: "MAX_QUEUE_DELAY_MS", flag: "max-queue-delay-ms" },
  maxPacketsPerSecond: { env: "MAX_PACKETS_PER_SECOND", flag: "max-packets-per-second" },
  chatMessagesPerSecond: { env: "CHAT_MESSAGES_PER_SECOND", flag: "chat-messages-per-second" },
  leaveGraceMs: { env: "LEAVE_GRACE_MS", flag: "leave-grace-ms" },
  presenceHeartbeatMs: { env: "PRESENCE_HEARTBEAT_MS", flag: "presence-heartbeat-ms" },
  presenceTimeoutMs: { env: "PRESENCE_TIMEOUT_MS", flag: "presence-timeout-ms" },
  idleTimeoutMs: { env: "IDLE_TIMEOUT_MS", flag: "idle-timeout-ms" },
  pingIntervalMs: { env: "PING_INTERVAL_MS", flag: "ping-interval-ms" },
  logLevel: { env: "LOG_LEVEL", flag: "log-level" },
  wtPort: { env: "WT_PORT", flag: "wt-port" },
  wtHost: { env: "WT_HOST", flag: "wt-host" },
  certPath: { env: "CERT_PATH", flag: "cert-path" },
  keyPath: { env: "KEY_PATH", flag: "key-path" },
  certValidityMs: { env: "CERT_VALIDITY_MS", flag: "cert-validity-ms" },
  wtStreamTimeoutMs: { env: "WT_STREAM_TIMEOUT_MS", flag: "wt-stream-timeout-ms" },
  maxDatagramsPerSecond: { env: "MAX_DATAGRAMS_PER_SECOND", flag: "max-datagrams-per-second" },
  wtIdleTimeoutMs: { env: "WT_IDLE_TIMEOUT_MS", flag: "wt-idle-timeout-ms" },
  auth: { env: "AUTH", flag: "auth" },
  databaseUrl: { env: "DATABASE_URL", flag: "database-url" },
  databaseSchema: { env: "DATABASE_SCHEMA", flag: "database-schema" },
  dataDir: { env: "DATA_DIR", flag: "data-dir" },
} satisfies Record<string, Setting>;

const KNOWN_FLAGS = new Set(Object.values(SETTINGS).map((s) => s.flag));

function parseFlags(args: string[]): { flags: Map<string, string> } | { error: string } {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("--")) return { error: `Unexpected argument "${arg}"` };
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (!KNOWN_FLAGS.has(name)) return { error: `Unknown flag "--${name}"` };
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else value = args[++i];
    if (value === undefined) return { error: `Flag "--${name}" needs a value` };
    flags.set(name, value);
  }
  return { flags };
}

function integer(name: string, raw: string, min: number, max: number): number | string {
  if (!/^[0-9]+$/.test(raw.trim())) return `${name} must be a whole number, got "${raw}"`;
  const value = Number(raw.trim());
  if (value < min || value > max) return `${name} must be between ${min} and ${max}, got ${value}`;
  return value;
}

/**
 * Reads the configuration from flags and environment variables.
 *
 * @example
 * ```ts
 * import { loadConfig } from "./config.ts";
 *
 * const result = loadConfig(["--port", "9000"], { LOG_LEVEL: "warn" });
 * if (!result.ok || result.config.port !== 9000 || result.config.logLevel !== "warn") {
 *   throw new Error("flags and variables were not read");
 * }
 * ```
 */
export function loadConfig(args: string[], env: Record<string, string | undefined>): ConfigResult {
  const parsed = parseFlags(args);
  if ("error" in parsed) return { ok: false, error: parsed.error };
  const get = (s: Setting): string | undefined => {
    const value = parsed.flags.get(s.flag) ?? env[s.env];
    return value === undefined || value.trim() === "" ? undefined : value;
  };
  const errors: string[] = [];
  const num = (s: Setting, fallback: number, min: number, max: number): number => {
    const raw = get(s);
    if (raw === undefined) return fallback;
    const value = integer(s.env, raw, min, max);
    if (typeof value === "string") {
      errors.push(value);
      return fallback;
    }
    return value;
  };
  const port = num(SETTINGS.port, 8080, 0, 65535);
  const maxPacketBytes = num(
    SETTINGS.maxPacketBytes,
    DEFAULT_RELAY_LIMITS.maxPacketBytes,
    64,
    64 * 1024 * 1024,
  );
  const queueDepth = num(SETTINGS.queueDepth, DEFAULT_RELAY_LIMITS.outboundQueuePackets, 8, 65536);
  const maxPacketsPerSecond = num(
    SETTINGS.maxPacketsPerSecond,
    DEFAULT_RELAY_LIMITS.maxPacketsPerSecond,
    1,
    1_000_000,
  );
  const chatMessagesPerSecond = num(
    SETTINGS.chatMessagesPerSecond,
    DEFAULT_RELAY_LIMITS.chatMessagesPerSecond,
    1,
    1000,
  );
  const leaveGraceMs = num(SETTINGS.leaveGraceMs, DEFAULT_RELAY_LIMITS.leaveGraceMs, 0, 600_000);
  const d = DEFAULT_RELAY_LIMITS;
  const presenceHeartbeatMs = num(
    SETTINGS.presenceHeartbeatMs,
    d.presenceHeartbeatMs,
    100,
    600_000,
  );
  const presenceTimeoutMs = num(SETTINGS.presenceTimeoutMs, d.presenceTimeoutMs, 200, 3_600_000);
  const idleTimeoutMs = num(SETTINGS.idleTimeoutMs, d.idleTimeoutMs, 1000, 3_600_000);
  const pingIntervalMs = num(SETTINGS.pingIntervalMs, d.pingIntervalMs, 1000, 600_000);
  if (presenceTimeoutMs <= presenceHeartbeatMs) {
    errors.push("PRESENCE_TIMEOUT_MS must be longer than PRESENCE_HEARTBEAT_MS");
  }
  const maxQueueDelayMs = num(SETTINGS.maxQueueDelayMs, d.maxQueueDelayMs, 10, 60_000);
  const wtPortRaw = get(SETTINGS.wtPort);
  const wtPort = wtPortRaw?.trim().toLowerCase() === "off"
    ? undefined
    : num(SETTINGS.wtPort, 4433, 0, 65535);
  const certPath = get(SETTINGS.certPath) ?? "";
  const keyPath = get(SETTINGS.keyPath) ?? "";
  if ((certPath === "") !== (keyPath === "")) {
    errors.push("CERT_PATH and KEY_PATH must be set together");
  }
  const certValidityMs = num(
    SETTINGS.certValidityMs,
    13 * 24 * 3600 * 1000,
    2000,
    MAX_CERT_VALIDITY_MS,
  );
  const wtStreamTimeoutMs = num(SETTINGS.wtStreamTimeoutMs, 10_000, 100, 600_000);
  const maxDatagramsPerSecond = num(SETTINGS.maxDatagramsPerSecond, 200, 1, 100_000);
  const wtIdleTimeoutMs = num(SETTINGS.wtIdleTimeoutMs, 10_000, 1000, 600_000);
  const auth = (get(SETTINGS.auth) ?? "open").trim().toLowerCase();
  if (auth !== "open" && auth !== "required") {
    errors.push(`AUTH must be "open" or "required", got "${auth}"`);
  }
  const jwtSecret = env.JWT_SECRET === undefined || env.JWT_SECRET === ""
    ? undefined
    : env.JWT_SECRET;
  if (auth === "required" && jwtSecret === undefined) {
    errors.push("AUTH=required needs JWT_SECRET (at least 32 bytes)");
  }
  if (jwtSecret !== undefined && new TextEncoder().encode(jwtSecret).length < 32) {
    errors.push("JWT_SECRET must be at least 32 bytes long");
  }
  const databaseUrl = get(SETTINGS.databaseUrl) ?? "";
  if (databaseUrl !== "" && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    errors.push("DATABASE_URL must start with postgres:// or postgresql://");
  }
  const databaseSchema = get(SETTINGS.databaseSchema);
  if (databaseSchema !== undefined && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(databaseSchema)) {
    errors.push("DATABASE_SCHEMA may only contain letters, digits and _");
  }
  const logLevel = get(SETTINGS.logLevel) ?? "info";
  if (!isLogLevel(logLevel)) {
    errors.push(`LOG_LEVEL must be one of debug, info, warn, error, silent, got "${logLevel}"`);
  }
  const natsUrl = get(SETTINGS.natsUrl) ?? "";
  for (const server of natsUrl.split(",").filter((s) => s.trim() !== "")) {
    if (
      !/^(nats|tls|wss?):\/\/[^\s]+$/.test(server.trim()) &&
      !/^[^\s:/]+:[0-9]+$/.test(server.trim())
    ) {
      errors.push(`NATS_URL must look like nats://host:port, got "${server.trim()}"`);
    }
  }
  if (errors.length > 0) return { ok: false, error: errors.join("; ") };
  return {
    ok: true,
    config: {
      port,
      host: get(SETTINGS.host) ?? "0.0.0.0",
      natsUrl,
      logLevel: logLevel as LogLevel,
      wtPort,
      wtHost: get(SETTINGS.wtHost) ?? "::",
      certPath,
      keyPath,
      certValidityMs,
      wtStreamTimeoutMs,
      maxDatagramsPerSecond,
      wtIdleTimeoutMs,
      auth: auth as "open" | "required",
      jwtSecret,
      databaseUrl,
      databaseSchema,
      dataDir: get(SETTINGS.dataDir) ?? "./data",
      limits: {
        ...DEFAULT_RELAY_LIMITS,
        maxPacketBytes,
        outboundQueuePackets: queueDepth,
        maxQueueDelayMs,
        maxPacketsPerSecond,
        packetBurst: Math.max(maxPacketsPerSecond * 2, 1),
        chatMessagesPerSecond,
        leaveGraceMs,
        presenceHeartbeatMs,
        presenceTimeoutMs,
        idleTimeoutMs,
        pingIntervalMs,
      },
    },
  };
}
