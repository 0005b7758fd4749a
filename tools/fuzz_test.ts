/**
 * `tools/fuzz.ts` as its users run it: a short run prints the inputs per target and exits 0,
 * a replayed input gets a verdict, and a wrong command line exits 2 with the usage.
 */
import { assert, assertEquals } from "../tests/support/assert.ts";
import { parseFuzzArgs } from "./fuzz.ts";

const TOOL = new URL("./fuzz.ts", import.meta.url).pathname;

async function runTool(args: string[]): Promise<{ code: number; out: string }> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", TOOL, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: result.code,
    out: decoder.decode(result.stdout) + decoder.decode(result.stderr),
  };
}

Deno.test("tools/fuzz.ts runs the named targets for the time given and counts their inputs", async () => {
  const { code, out } = await runTool([
    "--seconds",
    "1",
    "--seed",
    "5",
    "--target",
    "framing",
    "--target",
    "bus.frame",
  ]);
  assertEquals(code, 0, out);
  assert(out.includes("from seed 5"), out);
  for (const name of ["framing", "bus.frame"]) {
    const line = out.split("\n").find((l) => l.startsWith(`${name} `));
    assert(line !== undefined && Number(line.trim().split(/\s+/)[1]) > 0, out);
  }
  assert(out.includes("No failures"), out);
});

Deno.test("tools/fuzz.ts replays one input against one target", async () => {
  const { code, out } = await runTool(["--target", "framing", "--replay", "0000000201ff"]);
  assertEquals(code, 0, out);
  assert(out.includes("framing: the contract holds"), out);
});

Deno.test("tools/fuzz.ts refuses an unknown target, a bad number and a replay without one target", () => {
  assert(typeof parseFuzzArgs(["--target", "nope"]) === "string");
  assert(typeof parseFuzzArgs(["--seconds", "soon"]) === "string");
  assert(typeof parseFuzzArgs(["--replay", "00"]) === "string");
  assert(typeof parseFuzzArgs(["--what"]) === "string");
  const options = parseFuzzArgs(["--seconds", "3", "--seed", "9", "--target", "cli.ogg"]);
  assert(typeof options === "object");
  assertEquals([options.seconds, options.seed, options.targets], [3, 9, ["cli.ogg"]]);
});
