/**
 * Every server setting in one declarative table: its environment variable, its flag, its default,
 * its bounds and what it means. The configuration parser (`config.ts`), `--help` and the
 * configuration table in README.md all come from {@linkcode SETTINGS}; a test fails when README and
 * the table disagree (`deno task docs` rewrites README's table).
 *
 * Defaults that the relay, the WebTransport server or the certificate code also need are defined
 * there once (`DEFAULT_RELAY_LIMITS`, `DEFAULT_WEBTRANSPORT_LIMITS`,
 * `DEFAULT_CERTIFICATE_VALIDITY_MS`) and read here, never restated.
 *
 * @example
 * ```ts
 * import { parseSettings, SETTINGS } from "./settings.ts";
 *
 * const parsed = parseSettings(new Map([["port", "9000"]]), { QUEUE_DEPTH: "64" });
 * if (!parsed.ok || parsed.values.port !== 9000 || parsed.values.queueDepth !== 64) {
 *   throw new Error("flags and variables were not read");
 * }
 * if (SETTINGS.port.env !== "PORT") throw new Error();
 * ```
 *
 * @module
 */
import { isPlainHttpUrl } from "../protocol/public_url.ts";
import { DEFAULT_RELAY_LIMITS } from "../relay/limits.ts";
import { DEFAULT_WEBTRANSPORT_LIMITS } from "../relay/webtransport.ts";
import {
  DEFAULT_CERTIFICATE_VALIDITY_MS,
  MAX_CERTIFICATE_VALIDITY_MS,
} from "../relay/certificate.ts";
import { LOG_LEVELS } from "../log.ts";
import { DEFAULT_CONNECTION_LIMITS } from "./connection_guard.ts";

/** One setting: where it is read from, its default and how its text becomes a value. */
export interface Setting<T> {
  /** The environment variable. */
  env: string;
  /** The command-line flag without its dashes, or undefined for a variable only. */
  flag: string | undefined;
  /** The default as README and `--help` show it. */
  shown: string;
  /** One line: what it does. */
  meaning: string;
  /** The value when the setting is absent or blank. */
  fallback: T;
  /** The value of `raw` (trimmed, not empty), or a message that says what is wrong. */
  parse(raw: string): { ok: true; value: T } | { ok: false; error: string };
}

function integer(
  env: string,
  flag: string,
  fallback: number,
  min: number,
  max: number,
  meaning: string,
  shown = String(fallback),
): Setting<number> {
  return {
    env,
    flag,
    shown,
    meaning,
    fallback,
    parse(raw) {
      if (!/^[0-9]+$/.test(raw)) {
        return { ok: false, error: `${env} must be a whole number, got "${raw}"` };
      }
      const value = Number(raw);
      if (value < min || value > max) {
        return { ok: false, error: `${env} must be between ${min} and ${max}, got ${value}` };
      }
      return { ok: true, value };
    },
  };
}

function text(
  env: string,
  flag: string | undefined,
  fallback: string,
  meaning: string,
  shown: string,
  check: (value: string) => string | undefined = () => undefined,
): Setting<string> {
  return {
    env,
    flag,
    shown,
    meaning,
    fallback,
    parse(raw) {
      const error = check(raw);
      return error === undefined ? { ok: true, value: raw } : { ok: false, error };
    },
  };
}

function choice<T extends string>(
  env: string,
  flag: string,
  choices: readonly T[],
  fallback: T,
  meaning: string,
): Setting<T> {
  return {
    env,
    flag,
    shown: fallback,
    meaning,
    fallback,
    parse(raw) {
      const value = raw.toLowerCase();
      return (choices as readonly string[]).includes(value) ? { ok: true, value: value as T } : {
        ok: false,
        error: `${env} must be one of ${choices.join(", ")}, got "${raw}"`,
      };
    },
  };
}

const DAY_MS = 24 * 3600 * 1000;
const d = DEFAULT_RELAY_LIMITS;
const wt = DEFAULT_WEBTRANSPORT_LIMITS;

function natsUrls(value: string): string | undefined {
  for (const server of value.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    if (!/^(nats|tls|wss?):\/\/[^\s]+$/.test(server) && !/^[^\s:/]+:[0-9]+$/.test(server)) {
      return `NATS_URL must look like nats://host:port, got "${server}"`;
    }
  }
  return undefined;
}

/** The WebTransport port: a number, or `off`. */
const wtPort: Setting<number | "off"> = {
  env: "WT_PORT",
  flag: "wt-port",
  shown: "4433",
  meaning: "UDP port for WebTransport; `off` = WebSocket only",
  fallback: 4433,
  parse(raw) {
    if (raw.toLowerCase() === "off") return { ok: true, value: "off" };
    return integer("WT_PORT", "wt-port", 4433, 0, 65535, "").parse(raw);
  },
};

/**
 * The table, in the order README lists it. Keys are the names `parseSettings` returns values
 * under.
 */
export const SETTINGS = {
  port: integer("PORT", "port", 8080, 0, 65535, "HTTP and WebSocket port"),
  host: text("HOST", "host", "0.0.0.0", "address to bind", "0.0.0.0"),
  natsUrl: text(
    "NATS_URL",
    "nats-url",
    "",
    "NATS servers (comma-separated); empty = in-process bus",
    "empty",
    natsUrls,
  ),
  maxPacketBytes: integer(
    "MAX_PACKET_BYTES",
    "max-packet-bytes",
    d.maxPacketBytes,
    64,
    64 * 1024 * 1024,
    "largest packet (clamped to NATS `max_payload`)",
  ),
  queueDepth: integer(
    "QUEUE_DEPTH",
    "queue-depth",
    d.outboundQueuePackets,
    8,
    65536,
    "packets held per receiver before dropping",
  ),
  maxQueueDelayMs: integer(
    "MAX_QUEUE_DELAY_MS",
    "max-queue-delay-ms",
    d.maxQueueDelayMs,
    10,
    60_000,
    "video queued longer for a receiver is dropped",
  ),
  maxPacketsPerSecond: integer(
    "MAX_PACKETS_PER_SECOND",
    "max-packets-per-second",
    d.maxPacketsPerSecond,
    1,
    1_000_000,
    "per session (burst: twice that)",
  ),
  maxKbpsPerParticipant: integer(
    "MAX_KBPS_PER_PARTICIPANT",
    "max-kbps-per-participant",
    d.maxKbpsPerParticipant,
    0,
    10_000_000,
    "media a participant may send, kbit/s (2 s burst); beyond, packets are dropped and counted; 0 = no limit",
  ),
  maxVideoKbpsPerParticipant: integer(
    "MAX_VIDEO_KBPS_PER_PARTICIPANT",
    "max-video-kbps-per-participant",
    d.maxVideoKbpsPerParticipant,
    0,
    10_000_000,
    "camera and screen video a participant may send, kbit/s (2 s burst); 0 = no limit",
  ),
  maxMeetingParticipants: integer(
    "MAX_MEETING_PARTICIPANTS",
    "max-meeting-participants",
    d.maxMeetingParticipants,
    0,
    1_000_000,
    "participants a meeting may have across the cluster; more are refused (4403); 0 = no limit",
    "0 (none)",
  ),
  chatMessagesPerSecond: integer(
    "CHAT_MESSAGES_PER_SECOND",
    "chat-messages-per-second",
    d.chatMessagesPerSecond,
    1,
    1000,
    "chat messages per session (burst: four times that); more closes with 4029",
  ),
  leaveGraceMs: integer(
    "LEAVE_GRACE_MS",
    "leave-grace-ms",
    d.leaveGraceMs,
    0,
    600_000,
    "wait before announcing a leave",
  ),
  presenceHeartbeatMs: integer(
    "PRESENCE_HEARTBEAT_MS",
    "presence-heartbeat-ms",
    d.presenceHeartbeatMs,
    100,
    600_000,
    "roster announcements between servers",
  ),
  presenceTimeoutMs: integer(
    "PRESENCE_TIMEOUT_MS",
    "presence-timeout-ms",
    d.presenceTimeoutMs,
    200,
    3_600_000,
    "a silent server's participants are gone",
  ),
  idleTimeoutMs: integer(
    "IDLE_TIMEOUT_MS",
    "idle-timeout-ms",
    d.idleTimeoutMs,
    1000,
    3_600_000,
    "close a session that sends nothing",
  ),
  pingIntervalMs: integer(
    "PING_INTERVAL_MS",
    "ping-interval-ms",
    d.pingIntervalMs,
    1000,
    600_000,
    "WebSocket ping after this much quiet",
  ),
  largeMeetingParticipants: integer(
    "LARGE_MEETING_PARTICIPANTS",
    "large-meeting-participants",
    d.largeMeetingParticipants,
    2,
    100_000,
    "above this many people only publishers are announced (the rest counted), only the loudest heard",
  ),
  activeSpeakers: integer(
    "ACTIVE_SPEAKERS",
    "active-speakers",
    d.activeSpeakers,
    1,
    16,
    "loudest speakers tracked and told to clients (and the only ones heard in large meetings)",
  ),
  selectiveForwarding: choice(
    "SELECTIVE_FORWARDING",
    "selective-forwarding",
    ["on", "off"] as const,
    "on",
    "`off`: viewports, layer preferences and loudest-only audio are ignored, everyone gets everything",
  ),
  wtPort,
  wtHost: text(
    "WT_HOST",
    "wt-host",
    "::",
    "address to bind (Chromium resolves localhost to ::1 for QUIC)",
    "`::`",
  ),
  certPath: text(
    "CERT_PATH",
    "cert-path",
    "",
    "certificate PEM to serve (reloaded on change; with `KEY_PATH`); empty = self-signed, pinned by hash",
    "empty",
  ),
  keyPath: text("KEY_PATH", "key-path", "", "private key PEM for `CERT_PATH`", "empty"),
  https: choice(
    "HTTPS",
    "https",
    ["on", "off"] as const,
    "off",
    "`on`: serve pages, the API and WebSocket as HTTPS/WSS on `PORT` with `CERT_PATH`/`KEY_PATH` (reloaded when they change)",
  ),
  certValidityMs: integer(
    "CERT_VALIDITY_MS",
    "cert-validity-ms",
    DEFAULT_CERTIFICATE_VALIDITY_MS,
    2000,
    MAX_CERTIFICATE_VALIDITY_MS,
    `self-signed validity (Chromium accepts at most ${MAX_CERTIFICATE_VALIDITY_MS / DAY_MS} days)`,
    `${DEFAULT_CERTIFICATE_VALIDITY_MS / DAY_MS} days`,
  ),
  wtIdleTimeoutMs: integer(
    "WT_IDLE_TIMEOUT_MS",
    "wt-idle-timeout-ms",
    wt.maxIdleTimeoutMs,
    1000,
    600_000,
    "QUIC idle timeout (keep-alives at a quarter of it, 2 s at most)",
  ),
  wtStreamTimeoutMs: integer(
    "WT_STREAM_TIMEOUT_MS",
    "wt-stream-timeout-ms",
    wt.streamTimeoutMs,
    100,
    600_000,
    "a client stream must finish within this",
  ),
  maxDatagramsPerSecond: integer(
    "MAX_DATAGRAMS_PER_SECOND",
    "max-datagrams-per-second",
    wt.maxDatagramsPerSecond,
    1,
    100_000,
    "per session; more are dropped",
  ),
  maxConnections: integer(
    "MAX_CONNECTIONS",
    "max-connections",
    DEFAULT_CONNECTION_LIMITS.maxConnections,
    1,
    1_000_000,
    "open media connections on this instance; more get 503",
  ),
  maxConnectionsPerAddress: integer(
    "MAX_CONNECTIONS_PER_ADDRESS",
    "max-connections-per-address",
    DEFAULT_CONNECTION_LIMITS.maxConnectionsPerAddress,
    1,
    1_000_000,
    "open media connections from one client address; more get 429",
  ),
  connectionsPerAddressPerMinute: integer(
    "CONNECTIONS_PER_ADDRESS_PER_MINUTE",
    "connections-per-address-per-minute",
    DEFAULT_CONNECTION_LIMITS.connectionsPerAddressPerMinute,
    1,
    1_000_000,
    "new media connections one address may open a minute (a sixth of it at once)",
  ),
  newMeetingsPerAddressPerHour: integer(
    "NEW_MEETINGS_PER_ADDRESS_PER_HOUR",
    "new-meetings-per-address-per-hour",
    DEFAULT_CONNECTION_LIMITS.newMeetingsPerAddressPerHour,
    1,
    1_000_000,
    "meetings one address may create an hour",
  ),
  trustProxy: choice(
    "TRUST_PROXY",
    "trust-proxy",
    ["off", "on"] as const,
    "off",
    "`on`: the client address is the last in `X-Forwarded-For` (only behind your own proxy)",
  ),
  publicUrl: text(
    "PUBLIC_URL",
    "public-url",
    "",
    "the URL people open (e.g. `https://meet.example.org`): pages from its origin may connect; https makes cookies `Secure`",
    "empty",
    (value) =>
      value === "" || isPlainHttpUrl(value)
        ? undefined
        : "PUBLIC_URL must be a plain http:// or https:// URL (host, optional port and path)",
  ),
  allowedOrigins: text(
    "ALLOWED_ORIGINS",
    "allowed-origins",
    "",
    "more origins (comma-separated) whose pages may connect and call the API",
    "empty",
    (value) => {
      for (const origin of value.split(",").map((o) => o.trim()).filter((o) => o !== "")) {
        try {
          if (new URL(origin).origin !== origin) return `"${origin}" is not an origin`;
        } catch {
          return `"${origin}" is not an origin (scheme://host[:port])`;
        }
      }
      return undefined;
    },
  ),
  auth: choice(
    "AUTH",
    "auth",
    ["open", "required"] as const,
    "open",
    "`open`: ids from URLs and guest sessions; `required`: tokens only",
  ),
  jwtSecret: text(
    "JWT_SECRET",
    undefined,
    "",
    "token secret (32+ bytes); required with `AUTH=required` and for several instances",
    "random",
    (value) =>
      new TextEncoder().encode(value).length < 32
        ? "JWT_SECRET must be at least 32 bytes long"
        : undefined,
  ),
  httpRedirectPort: text(
    "HTTP_REDIRECT_PORT",
    "http-redirect-port",
    "off",
    "with `HTTPS=on`: a plain-HTTP port whose every request is redirected (308) to HTTPS; `off` = none",
    "off",
    (value) =>
      value === "off" || /^[0-9]{1,5}$/.test(value) && Number(value) <= 65535
        ? undefined
        : "HTTP_REDIRECT_PORT must be a port number or off",
  ),
  adminToken: text(
    "ADMIN_TOKEN",
    undefined,
    "",
    "bearer token of the admin API (`POST /api/v1/admin/drain`), 32+ bytes; empty = no admin API",
    "empty",
    (value) =>
      new TextEncoder().encode(value).length < 32
        ? "ADMIN_TOKEN must be at least 32 bytes long"
        : undefined,
  ),
  drainTimeoutMs: integer(
    "DRAIN_TIMEOUT_MS",
    "drain-timeout-ms",
    30_000,
    0,
    3_600_000,
    "on SIGTERM (with other instances alive) or the admin drain: how long sessions get to move to another instance before the rest are closed",
  ),
  databaseUrl: text(
    "DATABASE_URL",
    "database-url",
    "",
    "PostgreSQL for meetings; empty = embedded Postgres under `DATA_DIR`",
    "empty",
    (value) =>
      /^postgres(ql)?:\/\//.test(value)
        ? undefined
        : "DATABASE_URL must start with postgres:// or postgresql://",
  ),
  databaseSchema: text(
    "DATABASE_SCHEMA",
    "database-schema",
    "",
    "schema to use in that database, made if missing (needs the CREATE privilege then)",
    "default",
    (value) =>
      /^[a-z_][a-z0-9_]{0,62}$/.test(value)
        ? undefined
        : "DATABASE_SCHEMA may only contain lower-case letters, digits and _",
  ),
  dataDir: text(
    "DATA_DIR",
    "data-dir",
    "./data",
    "where the embedded Postgres keeps its files; checked at start (the `start` task may write only `./data`)",
    "`./data`",
  ),
  prebuiltBundle: choice(
    "PREBUILT_BUNDLE",
    "prebuilt-bundle",
    ["auto", "off", "required"] as const,
    "auto",
    "browser bundle from `deno task build`: `auto` serves `BUNDLE_DIR` when it holds one, else bundles on demand (needs `--unstable-bundle`); `off` always bundles (`deno task dev`); `required` refuses to start without it",
  ),
  bundleDir: text(
    "BUNDLE_DIR",
    "bundle-dir",
    "./_fresh",
    "where `deno task build` wrote the browser bundle",
    "`./_fresh`",
  ),
  logLevel: choice(
    "LOG_LEVEL",
    "log-level",
    LOG_LEVELS,
    "info",
    "debug, info, warn, error, silent",
  ),
} as const;

/** The names of the settings. */
export type SettingName = keyof typeof SETTINGS;

/** The parsed value of every setting. */
export type SettingValues = {
  [K in SettingName]: (typeof SETTINGS)[K] extends Setting<infer T> ? T : never;
};

const BY_FLAG = new Map<string, SettingName>(
  (Object.entries(SETTINGS) as [SettingName, Setting<unknown>][])
    .filter(([, s]) => s.flag !== undefined)
    .map(([name, s]) => [s.flag!, name]),
);

/**
 * Reads `--name value` and `--name=value` flags; every flag must be one of the table's.
 *
 * @example
 * ```ts
 * import { parseFlags } from "./settings.ts";
 *
 * const parsed = parseFlags(["--port=9000", "--log-level", "warn"]);
 * if (!parsed.ok || parsed.flags.get("port") !== "9000") throw new Error();
 * ```
 */
export function parseFlags(
  args: readonly string[],
): { ok: true; flags: Map<string, string> } | { ok: false; error: string } {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("--")) return { ok: false, error: `Unexpected argument "${arg}"` };
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (!BY_FLAG.has(name)) return { ok: false, error: `Unknown flag "--${name}"` };
    const value = eq !== -1 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) return { ok: false, error: `Flag "--${name}" needs a value` };
    flags.set(name, value);
  }
  return { ok: true, flags };
}

/**
 * The value of every setting from `flags` (by flag name, as {@linkcode parseFlags} returns them)
 * and `env`; a flag wins over its variable, and a blank value counts as absent. Every error is
 * reported, joined by "; ".
 */
export function parseSettings(
  flags: ReadonlyMap<string, string>,
  env: Record<string, string | undefined>,
): { ok: true; values: SettingValues } | { ok: false; errors: string[] } {
  const values: Record<string, unknown> = {};
  const errors: string[] = [];
  for (const [name, setting] of Object.entries(SETTINGS) as [string, Setting<unknown>][]) {
    const raw = (setting.flag === undefined ? undefined : flags.get(setting.flag)) ??
      env[setting.env];
    if (raw === undefined || raw.trim() === "") {
      values[name] = setting.fallback;
      continue;
    }
    const parsed = setting.parse(raw.trim());
    if (parsed.ok) values[name] = parsed.value;
    else errors.push(parsed.error);
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, values: values as SettingValues };
}

/** README's configuration table, as Markdown (what `deno task docs` writes there). */
export function settingsMarkdown(): string {
  const rows = Object.values(SETTINGS).map((s: Setting<unknown>) => [
    `\`${s.env}\``,
    s.flag === undefined ? "—" : `\`--${s.flag}\``,
    s.shown,
    s.meaning,
  ]);
  const header = ["variable", "flag", "default", "meaning"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [line(header), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...rows.map(line)]
    .join("\n");
}

/** The text of `--help`. */
export function settingsHelp(): string {
  const lines = [
    "Usage: deno task start [--flag value]...",
    "",
    "Every setting is an environment variable or the matching flag; a flag wins.",
    "",
  ];
  for (const s of Object.values(SETTINGS) as Setting<unknown>[]) {
    const name = s.flag === undefined ? s.env : `--${s.flag} (${s.env})`;
    lines.push(`  ${name}`, `      ${s.meaning.replaceAll("`", "")} [default: ${s.shown}]`);
  }
  return lines.join("\n");
}
