/**
 * Server configuration from the environment and command-line flags (a flag wins over its
 * variable). Every setting, its default and its bounds are in the table of `settings.ts`, which
 * README's configuration table and `--help` also come from; this module turns the parsed values
 * into a {@linkcode ServerConfig} and checks the rules that tie settings together.
 *
 * @module
 */
import type { LogLevel } from "../log.ts";
import { DEFAULT_RELAY_LIMITS, type RelayLimits } from "../relay/limits.ts";
import { parseFlags, parseSettings } from "./settings.ts";
import type { ConnectionLimits } from "./connection_guard.ts";

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
  /** Serve HTTPS/WSS on `port` with the certificate at `certPath`/`keyPath`. */
  https: boolean;
  /** With `https`: a plain-HTTP port that redirects to HTTPS. */
  httpRedirectPort: number | undefined;
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
  /** Bearer token of the admin API; undefined: no admin API. */
  adminToken: string | undefined;
  /** How long a drain waits for sessions to move elsewhere. */
  drainTimeoutMs: number;
  /** Empty for the embedded PGlite store. */
  databaseUrl: string;
  databaseSchema: string | undefined;
  dataDir: string;
  /** The browser bundle from `deno task build` (lib/fresh/prebuilt.ts), and where it is. */
  prebuiltBundle: "auto" | "off" | "required";
  bundleDir: string;
  /** Bounds on media connections and new meetings. */
  connections: ConnectionLimits;
  /** Read the client address from `X-Forwarded-For` (behind our own proxy). */
  trustProxy: boolean;
  /** The URL people open; empty when not configured. */
  publicUrl: string;
  /** Origins whose pages may connect and call the API (with the public URL's and our own). */
  allowedOrigins: string[];
}

/** The outcome of {@linkcode loadConfig}. */
export type ConfigResult = { ok: true; config: ServerConfig } | { ok: false; error: string };

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
  const flags = parseFlags(args);
  if (!flags.ok) return { ok: false, error: flags.error };
  const parsed = parseSettings(flags.flags, env);
  if (!parsed.ok) return { ok: false, error: parsed.errors.join("; ") };
  const v = parsed.values;
  const errors: string[] = [];
  if (v.presenceTimeoutMs <= v.presenceHeartbeatMs) {
    errors.push("PRESENCE_TIMEOUT_MS must be longer than PRESENCE_HEARTBEAT_MS");
  }
  if ((v.certPath === "") !== (v.keyPath === "")) {
    errors.push("CERT_PATH and KEY_PATH must be set together");
  }
  if (v.https === "on" && v.certPath === "") {
    errors.push("HTTPS=on needs CERT_PATH and KEY_PATH");
  }
  if (v.httpRedirectPort !== "off" && v.https !== "on") {
    errors.push("HTTP_REDIRECT_PORT redirects to HTTPS: it needs HTTPS=on");
  }
  if (v.auth === "required" && v.jwtSecret === "") {
    errors.push("AUTH=required needs JWT_SECRET (at least 32 bytes)");
  }
  if (errors.length > 0) return { ok: false, error: errors.join("; ") };
  return {
    ok: true,
    config: {
      port: v.port,
      host: v.host,
      natsUrl: v.natsUrl,
      logLevel: v.logLevel,
      wtPort: v.wtPort === "off" ? undefined : v.wtPort,
      wtHost: v.wtHost,
      certPath: v.certPath,
      keyPath: v.keyPath,
      https: v.https === "on",
      httpRedirectPort: v.httpRedirectPort === "off" ? undefined : Number(v.httpRedirectPort),
      certValidityMs: v.certValidityMs,
      wtStreamTimeoutMs: v.wtStreamTimeoutMs,
      maxDatagramsPerSecond: v.maxDatagramsPerSecond,
      wtIdleTimeoutMs: v.wtIdleTimeoutMs,
      auth: v.auth,
      jwtSecret: v.jwtSecret === "" ? undefined : v.jwtSecret,
      adminToken: v.adminToken === "" ? undefined : v.adminToken,
      drainTimeoutMs: v.drainTimeoutMs,
      databaseUrl: v.databaseUrl,
      databaseSchema: v.databaseSchema === "" ? undefined : v.databaseSchema,
      dataDir: v.dataDir,
      prebuiltBundle: v.prebuiltBundle,
      bundleDir: v.bundleDir,
      connections: {
        maxConnections: v.maxConnections,
        maxConnectionsPerAddress: v.maxConnectionsPerAddress,
        connectionsPerAddressPerMinute: v.connectionsPerAddressPerMinute,
        newMeetingsPerAddressPerHour: v.newMeetingsPerAddressPerHour,
      },
      trustProxy: v.trustProxy === "on",
      publicUrl: v.publicUrl,
      allowedOrigins: v.allowedOrigins.split(",").map((o) => o.trim()).filter((o) => o !== ""),
      limits: {
        ...DEFAULT_RELAY_LIMITS,
        maxPacketBytes: v.maxPacketBytes,
        outboundQueuePackets: v.queueDepth,
        maxQueueDelayMs: v.maxQueueDelayMs,
        maxPacketsPerSecond: v.maxPacketsPerSecond,
        packetBurst: Math.max(v.maxPacketsPerSecond * 2, 1),
        chatMessagesPerSecond: v.chatMessagesPerSecond,
        maxKbpsPerParticipant: v.maxKbpsPerParticipant,
        maxVideoKbpsPerParticipant: v.maxVideoKbpsPerParticipant,
        maxMeetingParticipants: v.maxMeetingParticipants,
        leaveGraceMs: v.leaveGraceMs,
        presenceHeartbeatMs: v.presenceHeartbeatMs,
        presenceTimeoutMs: v.presenceTimeoutMs,
        idleTimeoutMs: v.idleTimeoutMs,
        pingIntervalMs: v.pingIntervalMs,
        largeMeetingParticipants: v.largeMeetingParticipants,
        activeSpeakers: v.activeSpeakers,
        selectiveForwarding: v.selectiveForwarding === "on",
      },
    },
  };
}
