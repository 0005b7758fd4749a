/**
 * What an operator meets at start-up: a `DATA_DIR` the process may not write is refused at once,
 * with the command that fixes it (it used to fail on the first join).
 */
import { assert, assertEquals } from "./support/assert.ts";

const ROOT = new URL("..", import.meta.url).pathname;

// The permissions `deno task start` grants, read from deno.json, so the test follows the task.
async function startTaskFlags(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const words = (config.tasks.start as string).split(/\s+/);
  return words.filter((w) => w.startsWith("--allow-"));
}

Deno.test("deno task start refuses a DATA_DIR it may not write, at start, and says how to fix it", async () => {
  const elsewhere = await Deno.makeTempDir({ prefix: "data-dir-" });
  try {
    const flags = await startTaskFlags();
    assert(flags.includes("--allow-write=./data"), flags.join(" "));
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...flags, "main.ts"],
      cwd: ROOT,
      env: { DATA_DIR: elsewhere, PORT: "0", WT_PORT: "off", DATABASE_URL: "", NATS_URL: "" },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(output.stderr);
    assertEquals(output.code, 2, text);
    assert(text.includes(`DATA_DIR=${elsewhere} is not writable by this process`), text);
    assert(text.includes(`--allow-write=${elsewhere}`), text);
    assert(text.includes("DATABASE_URL"), text);
  } finally {
    await Deno.remove(elsewhere, { recursive: true });
  }
});
