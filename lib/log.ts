/**
 * Structured logging: one JSON object per line on stderr, with a time, a level and an event
 * name. Never pass packet payloads or tokens as fields.
 *
 * @example
 * ```ts
 * import { createLogger } from "./log.ts";
 *
 * const lines: string[] = [];
 * const log = createLogger("info", (line) => lines.push(line));
 * log.debug("hidden");
 * log.info("session_opened", { room: "standup" });
 * if (lines.length !== 1 || JSON.parse(lines[0]).room !== "standup") throw new Error();
 * ```
 *
 * @module
 */

/** Log levels, least severe first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;

/** A log level. */
export type LogLevel = typeof LOG_LEVELS[number];

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };

/** Values a log line may carry. */
export type LogFields = Record<string, string | number | boolean | bigint | null | undefined>;

/** Writes structured log lines. */
export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

/** Whether `value` names a log level. */
export function isLogLevel(value: string): value is LogLevel {
  return value in ORDER;
}

/**
 * A logger that writes lines at `level` and above to `sink` (default: stderr).
 */
export function createLogger(
  level: LogLevel,
  sink: (line: string) => void = (line) => console.error(line),
): Logger {
  const min = ORDER[level];
  const write = (lvl: LogLevel, event: string, fields?: LogFields) => {
    if (ORDER[lvl] < min) return;
    const record: Record<string, unknown> = { time: new Date().toISOString(), level: lvl, event };
    if (fields) {
      for (const [k, v] of Object.entries(fields)) {
        record[k] = typeof v === "bigint" ? v.toString() : v;
      }
    }
    sink(JSON.stringify(record));
  };
  return {
    debug: (event, fields) => write("debug", event, fields),
    info: (event, fields) => write("info", event, fields),
    warn: (event, fields) => write("warn", event, fields),
    error: (event, fields) => write("error", event, fields),
  };
}
