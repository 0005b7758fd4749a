import { assert, assertEquals, assertFalse } from "../../tests/support/assert.ts";
import { withCurrentSettings } from "../../cli/docs.ts";
import { parseFlags, parseSettings, SETTINGS, settingsHelp } from "./settings.ts";

Deno.test("README's configuration table is the settings table (run `deno task docs` if not)", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  assertEquals(withCurrentSettings(readme), readme);
});

Deno.test("settings: every one has a variable, a meaning and a default that parses as itself", () => {
  const envs = new Set<string>();
  const flags = new Set<string>();
  for (const [name, s] of Object.entries(SETTINGS)) {
    assert(/^[A-Z][A-Z0-9_]+$/.test(s.env), `${name}: variable ${s.env}`);
    assertFalse(envs.has(s.env), `${s.env} twice`);
    envs.add(s.env);
    if (s.flag !== undefined) {
      assertFalse(flags.has(s.flag), `--${s.flag} twice`);
      flags.add(s.flag);
    }
    assert(s.meaning.length > 5, `${name} says what it means`);
    if (s.fallback !== "") {
      const parsed = s.parse(String(s.fallback));
      assert(parsed.ok && parsed.value === s.fallback, `${name}'s default parses as itself`);
    }
  }
});

Deno.test("settings: --help names every variable and flag with its default", () => {
  const help = settingsHelp();
  for (const s of Object.values(SETTINGS)) {
    assert(help.includes(s.env), s.env);
    if (s.flag) assert(help.includes(`--${s.flag}`), s.flag);
    assert(help.includes(`[default: ${s.shown}]`), `${s.env} default`);
  }
});

Deno.test("parseSettings() reads flags before variables, treats blanks as absent, reports every error", () => {
  const flags = parseFlags(["--queue-depth", "64"]);
  assert(flags.ok);
  const parsed = parseSettings(flags.flags, { QUEUE_DEPTH: "32", LOG_LEVEL: " ", WT_PORT: "OFF" });
  assert(parsed.ok);
  assertEquals(parsed.values.queueDepth, 64);
  assertEquals(parsed.values.logLevel, "info");
  assertEquals(parsed.values.wtPort, "off");
  const bad = parseSettings(new Map(), {
    CHAT_MESSAGES_PER_SECOND: "0",
    AUTH: "sometimes",
    WT_PORT: "70000",
    JWT_SECRET: "short",
  });
  assertFalse(bad.ok);
  assertEquals(bad.errors, [
    "CHAT_MESSAGES_PER_SECOND must be between 1 and 1000, got 0",
    "WT_PORT must be between 0 and 65535, got 70000",
    'AUTH must be one of open, required, got "sometimes"',
    "JWT_SECRET must be at least 32 bytes long",
  ]);
});
