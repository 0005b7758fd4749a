/**
 * Fuzzing in the suite: every parser we own is fed random bytes and mutations of its own valid
 * encodings, from a fixed seed, and must keep its contract (each target in `tests/fuzz/` says
 * what its parser promises: the error types it may throw or the result shape it returns, output
 * in proportion to input, round trips). The inputs that once broke a parser are replayed from
 * `tests/fuzz_regressions/`. Longer runs with fresh seeds: `tools/fuzz.ts`.
 */
import { assert, assertEquals, AssertionError } from "./support/assert.ts";
import { describeFailure, fromHex, fuzz, type FuzzTarget } from "./support/fuzz.ts";
import { FUZZ_TARGETS } from "./fuzz_targets.ts";

/** The seed of every run in the suite (a failure here reproduces with it). */
const SEED = 20261204;
/** Inputs per target: about 10 s for all of them on a 2-core machine. */
const ITERATIONS = 5000;
const REGRESSIONS = new URL("./fuzz_regressions/", import.meta.url);

for (const target of FUZZ_TARGETS) {
  Deno.test(`${target.name}: ${ITERATIONS} random and mutated inputs keep its parser's contract`, async () => {
    const report = await fuzz(target, { seed: SEED, iterations: ITERATIONS });
    if (report.failure !== undefined) {
      throw new AssertionError(
        `${describeFailure(report.failure)}\nReplay it with: deno run -A tools/fuzz.ts ` +
          `--target ${target.name} --replay ${"<input hex>"}`,
      );
    }
    assertEquals(report.iterations, ITERATIONS);
    // The inputs reach both sides of the parser: some are accepted, some refused.
    assert(report.accepted > 0, "no input was accepted, not even our own encodings");
    assert(report.accepted < ITERATIONS, "every input was accepted: the mutations do nothing");
  });
}

/** The target a regression file is for: the longest target name its file name starts with. */
function targetOf(file: string): FuzzTarget | undefined {
  return FUZZ_TARGETS.filter((t) => file.startsWith(`${t.name}.`))
    .sort((a, b) => b.name.length - a.name.length)[0];
}

Deno.test("inputs that once broke a parser keep its contract now (tests/fuzz_regressions/)", async () => {
  const byTarget = new Map<FuzzTarget, string[]>();
  for (const entry of Deno.readDirSync(REGRESSIONS)) {
    if (!entry.isFile || !entry.name.endsWith(".hex")) continue;
    const target = targetOf(entry.name);
    assert(target !== undefined, `${entry.name} names no fuzz target`);
    byTarget.set(target, [...(byTarget.get(target) ?? []), entry.name]);
  }
  assert(byTarget.size > 0, "no regression inputs found");
  for (const [target, files] of byTarget) {
    await target.open?.();
    try {
      for (const file of files.sort()) {
        const input = fromHex(Deno.readTextFileSync(new URL(file, REGRESSIONS)));
        try {
          await target.check(input);
        } catch (error) {
          throw new AssertionError(`${file} breaks ${target.name} again: ${error}`, {
            cause: error,
          });
        }
      }
    } finally {
      await target.close?.();
    }
  }
});
