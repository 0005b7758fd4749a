import { assert, assertEquals, assertFalse } from "../tests/support/assert.ts";
import { verifyToken } from "../lib/auth/tokens.ts";
import { HELP, parseTokenArgs, parseTtl } from "./token.ts";

const SECRET_TEXT = "cli-test-secret-that-is-comfortably-over-32-bytes";
const SECRET = new TextEncoder().encode(SECRET_TEXT);
const ROOT = new URL("..", import.meta.url);
const SCRIPT = new URL("./token.ts", import.meta.url).pathname;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

// Runs the CLI as an operator would, with only the permission the task grants.
async function runCli(args: string[], secret = SECRET_TEXT): Promise<Run> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-env=JWT_SECRET", SCRIPT, ...args],
    cwd: ROOT,
    env: { JWT_SECRET: secret, NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test("token CLI prints a token that verifies with the same secret", async () => {
  const before = Math.floor(Date.now() / 1000);
  const run = await runCli([
    "--user",
    "alice",
    "--room",
    "standup",
    "--host",
    "--name",
    "Alice A",
    "--ttl",
    "30m",
  ]);
  assertEquals(run.code, 0, run.stderr);
  const lines = run.stdout.trimEnd().split("\n");
  assertEquals(lines.length, 1, "stdout holds only the token");
  const result = await verifyToken(SECRET, lines[0], { room: "standup" });
  assert(result.ok, result.ok ? "" : result.detail);
  const { expiresAtSeconds, ...identity } = result.identity;
  assertEquals(identity, {
    userId: "alice",
    displayName: "Alice A",
    room: "standup",
    role: "host",
  });
  assert(expiresAtSeconds >= before + 1800 && expiresAtSeconds <= before + 1802);
  assert(run.stderr.includes('host token for "alice" in "standup", expires'), run.stderr);
});

Deno.test("token CLI defaults to a one-hour guest token named after the user", async () => {
  const run = await runCli(["--user=bob", "--room=retro"]);
  assertEquals(run.code, 0, run.stderr);
  const result = await verifyToken(SECRET, run.stdout.trim(), { room: "retro" });
  assert(result.ok);
  assertEquals(result.identity.role, "guest");
  assertEquals(result.identity.displayName, "bob");
  const ttl = result.identity.expiresAtSeconds - Math.floor(Date.now() / 1000);
  assert(ttl > 3500 && ttl <= 3600, String(ttl));
});

Deno.test("token CLI exits 2 with a message on stderr for bad flags or a bad secret", async () => {
  const cases: [string[], string, string][] = [
    [["--user", "alice"], SECRET_TEXT, "token: Missing --room <id>"],
    [["--room", "r"], SECRET_TEXT, "token: Missing --user <id>"],
    [["--user", "alice", "--room", "r", "--colour", "red"], SECRET_TEXT, 'Unknown flag "--colour"'],
    [
      ["--user", "alice", "--room", "r", "--ttl", "soon"],
      SECRET_TEXT,
      '--ttl "soon" is not a duration',
    ],
    [
      ["--user", "alice", "--room", "r", "--role", "admin"],
      SECRET_TEXT,
      '--role "admin" is not one of',
    ],
    [["--user", "a.b", "--room", "r"], SECRET_TEXT, 'The user id "a.b" may only contain'],
    [["--user", "alice", "--room", "r", "--name", ""], SECRET_TEXT, "display name is empty"],
    [["--user", "alice", "--room", "r"], "", "token: JWT_SECRET is not set"],
    [
      ["--user", "alice", "--room", "r"],
      "short",
      "JWT_SECRET is 5 bytes long but must be at least 32",
    ],
  ];
  const runs = await Promise.all(cases.map(([args, secret]) => runCli(args, secret)));
  runs.forEach((run, i) => {
    const [args, , message] = cases[i];
    assertEquals(run.code, 2, args.join(" "));
    assertEquals(run.stdout, "", args.join(" "));
    assert(run.stderr.includes(message), `${args.join(" ")}: ${run.stderr}`);
  });
});

Deno.test("token CLI --help documents every flag and its default, and exits 0", async () => {
  const run = await runCli(["--help"], "");
  assertEquals(run.code, 0);
  assertEquals(run.stdout.trimEnd(), HELP);
  for (
    const flag of [
      "--user",
      "--room",
      "--name",
      "--role",
      "--host",
      "--ttl",
      "--help",
      "JWT_SECRET",
    ]
  ) {
    assert(HELP.includes(flag), flag);
  }
  for (const fact of ["Default: the user id", "Default: guest", "Default: 1h", "status 2"]) {
    assert(HELP.includes(fact), fact);
  }
});

Deno.test("parseTtl() reads s, m, h, d and bare seconds, up to 365 days", () => {
  const cases: [string, number | undefined][] = [
    ["3600s", 3600],
    ["3600", 3600],
    ["30m", 1800],
    ["1h", 3600],
    ["2d", 172800],
    ["365d", 365 * 86400],
    ["366d", undefined],
    ["0", undefined],
    ["0h", undefined],
    ["-1h", undefined],
    ["1.5h", undefined],
    ["1H", undefined],
    ["1 h", undefined],
    ["h", undefined],
    ["", undefined],
    ["9".repeat(400), undefined],
  ];
  for (const [text, seconds] of cases) assertEquals(parseTtl(text), seconds, text);
});

Deno.test("parseTokenArgs() takes --host or --role, and refuses them contradicting", () => {
  const base = ["--user", "u", "--room", "r"];
  const role = (args: string[]) => {
    const parsed = parseTokenArgs([...base, ...args]);
    return parsed.ok && !parsed.help ? parsed.args.role : parsed.ok ? "help" : parsed.error;
  };
  assertEquals(role([]), "guest");
  assertEquals(role(["--host"]), "host");
  assertEquals(role(["--role", "cohost"]), "cohost");
  assertEquals(role(["--host", "--role", "host"]), "host");
  assertEquals(role(["--host", "--role", "cohost"]), "--host contradicts --role cohost");
  assertEquals(role(["--host=yes"]), "--host takes no value");
  assertEquals(role(["--role", "host", "--role", "guest"]), "--role is given twice");
  assertEquals(role(["--role"]), "--role needs a value");
  assertEquals(role(["--role", "--host"]), "--role needs a value");
  assertEquals(role(["extra"]), 'Unexpected argument "extra"');
  assertEquals(role(["-h"]), "help");
  const parsed = parseTokenArgs([...base, "--name=--odd"]);
  assertFalse(!parsed.ok || parsed.help || parsed.args.displayName !== "--odd");
});
