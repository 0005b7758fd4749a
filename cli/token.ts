/**
 * Mints a meeting token for operators and tests, signed with `JWT_SECRET`:
 *
 * ```sh
 * JWT_SECRET=... deno task token --user alice --room standup --host --ttl 2h
 * ```
 *
 * The token goes to stdout, a one-line summary to stderr; bad flags or a missing or short
 * secret print a message on stderr and exit with status 2. Run with `--help` for every flag.
 *
 * @module
 */
import { validateId } from "../lib/protocol/ids.ts";
import { secretFromEnv } from "../lib/auth/secret.ts";
import { mintToken, type Role, ROLES } from "../lib/auth/tokens.ts";

/** Lifetime when `--ttl` is not given. */
export const DEFAULT_TTL_SECONDS = 3600;

/** Longest lifetime `--ttl` accepts. */
export const MAX_TTL_SECONDS = 365 * 86400;

/** Exit status for bad flags or a missing secret. */
export const USAGE_EXIT_CODE = 2;

/** What the flags ask for. */
export interface TokenArgs {
  userId: string;
  room: string;
  displayName?: string;
  role: Role;
  ttlSeconds: number;
}

/** The outcome of {@linkcode parseTokenArgs}. */
export type TokenArgsResult =
  | { ok: true; help: true }
  | { ok: true; help: false; args: TokenArgs }
  | { ok: false; error: string };

/** The `--help` text. */
export const HELP = `Mint a meeting token (an HS256 JWT) signed with JWT_SECRET.

Usage:
  deno task token --user <id> --room <id> [options]

Options:
  --user <id>        User id (the sub claim): 1-64 of A-Z a-z 0-9 _ -. Required
  --room <id>        Meeting the token is limited to, same characters. Required
  --name <text>      Display name. Default: the user id
  --role <role>      host, cohost or guest. Default: guest
  --host             Same as --role host
  --ttl <duration>   Lifetime: 3600s, 30m, 1h, 2d, or plain seconds; at most 365d. Default: 1h
  -h, --help         Show this help

Environment:
  JWT_SECRET         Signing secret, at least 32 bytes (openssl rand -base64 48). Required

The token is printed on stdout; a summary on stderr. Bad flags exit with status 2.`;

const VALUE_FLAGS = new Set(["user", "room", "name", "role", "ttl"]);
const DURATION = /^([0-9]{1,9})(s|m|h|d)?$/;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/**
 * Reads a lifetime such as `90s`, `30m`, `1h`, `2d` or `3600` (seconds).
 *
 * @param text The flag's value.
 * @returns Seconds, or `undefined` when it is not a positive duration of at most 365 days.
 *
 * @example
 * ```ts
 * import { parseTtl } from "./token.ts";
 *
 * if (parseTtl("30m") !== 1800 || parseTtl("2d") !== 172800) throw new Error("units");
 * if (parseTtl("0s") !== undefined || parseTtl("1w") !== undefined) throw new Error("refused");
 * ```
 */
export function parseTtl(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (match === null) return undefined;
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2] ?? "s"];
  return seconds > 0 && seconds <= MAX_TTL_SECONDS ? seconds : undefined;
}

/**
 * Reads the command line: `--flag value` or `--flag=value`, each flag at most once.
 *
 * @param argv The arguments after the script name.
 * @returns The request, a request for help, or an error for the operator.
 *
 * @example
 * ```ts
 * import { parseTokenArgs } from "./token.ts";
 *
 * const parsed = parseTokenArgs(["--user", "alice", "--room=standup", "--host"]);
 * if (!parsed.ok || parsed.help || parsed.args.role !== "host") throw new Error("unexpected");
 * const bad = parseTokenArgs(["--user", "alice"]);
 * if (bad.ok || bad.error !== "Missing --room <id>") throw new Error("unexpected");
 * ```
 */
export function parseTokenArgs(argv: readonly string[]): TokenArgsResult {
  const values = new Map<string, string>();
  let host = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "-h" || arg === "--help") return { ok: true, help: true };
    if (!arg.startsWith("--")) return { ok: false, error: `Unexpected argument "${arg}"` };
    const equals = arg.indexOf("=");
    const flag = arg.slice(2, equals === -1 ? undefined : equals);
    if (flag === "host") {
      if (equals !== -1) return { ok: false, error: "--host takes no value" };
      host = true;
      continue;
    }
    if (!VALUE_FLAGS.has(flag)) return { ok: false, error: `Unknown flag "--${flag}"` };
    if (values.has(flag)) return { ok: false, error: `--${flag} is given twice` };
    let value: string | undefined;
    if (equals !== -1) value = arg.slice(equals + 1);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) value = argv[++i];
    if (value === undefined) return { ok: false, error: `--${flag} needs a value` };
    values.set(flag, value);
  }

  const userId = values.get("user");
  if (userId === undefined) return { ok: false, error: "Missing --user <id>" };
  const room = values.get("room");
  if (room === undefined) return { ok: false, error: "Missing --room <id>" };
  for (const [kind, id] of [["user id", userId], ["room id", room]]) {
    const checked = validateId(kind, id);
    if (!checked.ok) return { ok: false, error: checked.reason };
  }

  const roleText = values.get("role");
  if (roleText !== undefined && !ROLES.includes(roleText as Role)) {
    return { ok: false, error: `--role "${roleText}" is not one of ${ROLES.join(", ")}` };
  }
  if (host && roleText !== undefined && roleText !== "host") {
    return { ok: false, error: `--host contradicts --role ${roleText}` };
  }
  const role: Role = host ? "host" : (roleText as Role | undefined) ?? "guest";

  const ttlText = values.get("ttl");
  const ttlSeconds = ttlText === undefined ? DEFAULT_TTL_SECONDS : parseTtl(ttlText);
  if (ttlSeconds === undefined) {
    return {
      ok: false,
      error: `--ttl "${ttlText}" is not a duration; use e.g. 90s, 30m, 1h or 2d (at most 365d)`,
    };
  }
  const args: TokenArgs = { userId, room, role, ttlSeconds };
  const displayName = values.get("name");
  if (displayName !== undefined) args.displayName = displayName;
  return { ok: true, help: false, args };
}

/**
 * Runs the command: parses `argv`, mints with `secretValue`, and reports through `io`.
 *
 * @param argv The arguments after the script name.
 * @param secretValue The value of `JWT_SECRET`.
 * @param io Where the token (`out`) and messages (`err`) go.
 * @returns The exit status: 0, or 2 for bad flags or a missing secret.
 *
 * @example
 * ```ts
 * import { runTokenCli } from "./token.ts";
 *
 * const out: string[] = [];
 * const err: string[] = [];
 * const io = { out: (line: string) => out.push(line), err: (line: string) => err.push(line) };
 * const status = await runTokenCli(["--user", "alice", "--room", "standup"], undefined, io);
 * if (status !== 2 || !err[0].includes("JWT_SECRET is not set")) throw new Error("unexpected");
 * ```
 */
export async function runTokenCli(
  argv: readonly string[],
  secretValue: string | undefined,
  io: { out: (line: string) => void; err: (line: string) => void },
): Promise<number> {
  const parsed = parseTokenArgs(argv);
  if (!parsed.ok) {
    io.err(`token: ${parsed.error}\nRun with --help for usage.`);
    return USAGE_EXIT_CODE;
  }
  if (parsed.help) {
    io.out(HELP);
    return 0;
  }
  const secret = secretFromEnv(secretValue);
  if (!secret.ok) {
    io.err(`token: ${secret.error}`);
    return USAGE_EXIT_CODE;
  }
  const { args } = parsed;
  const now = new Date();
  let token: string;
  try {
    token = await mintToken(secret.secret, { ...args, now });
  } catch (error) {
    // mintToken's messages read "Cannot mint a token: <what is wrong>".
    io.err(`token: ${error instanceof Error ? error.message : String(error)}`);
    return USAGE_EXIT_CODE;
  }
  const expires = new Date(Math.floor(now.getTime() / 1000) * 1000 + args.ttlSeconds * 1000);
  io.out(token);
  io.err(
    `token: ${args.role} token for "${args.userId}" in "${args.room}", expires ${expires.toISOString()}`,
  );
  return 0;
}

if (import.meta.main) {
  const status = await runTokenCli(Deno.args, Deno.env.get("JWT_SECRET"), {
    out: (line) => console.log(line),
    err: (line) => console.error(line),
  });
  Deno.exit(status);
}
