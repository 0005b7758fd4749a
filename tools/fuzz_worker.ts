/**
 * The worker of `tools/fuzz.ts`: runs fuzz targets in rounds, a fresh seed each round, until its
 * deadline, and reports each slice of work and each failure to the main thread. Before every
 * input is checked, the input is copied into shared memory and a counter moves on, so the main
 * thread can tell a hang from slow progress and show the input that hangs.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { FUZZ_TARGETS } from "../tests/fuzz_targets.ts";
import { fuzz, toHex } from "../tests/support/fuzz.ts";
import { type FuzzEvent, type FuzzJob, SHARED } from "./fuzz_messages.ts";

function post(event: FuzzEvent): void {
  self.postMessage(event);
}

async function run(job: FuzzJob): Promise<void> {
  const words = new Int32Array(job.shared, 0, 2);
  const bytes = new Uint8Array(job.shared, SHARED.BYTES_AT);
  const end = performance.now() + job.durationMs;
  const remaining = new Set(job.targets);
  for (let round = 0; remaining.size > 0 && performance.now() < end; round++) {
    const seed = (job.baseSeed + round) >>> 0;
    for (const name of [...remaining]) {
      if (performance.now() >= end) break;
      const target = FUZZ_TARGETS.find((t) => t.name === name)!;
      post({ kind: "slice", target: name, seed });
      let report;
      try {
        report = await fuzz(target, {
          seed,
          deadline: Math.min(end, performance.now() + job.sliceMs),
          onInput(input) {
            const length = Math.min(input.length, bytes.length);
            bytes.set(input.subarray(0, length));
            Atomics.store(words, SHARED.LENGTH, input.length);
            Atomics.add(words, SHARED.COUNTER, 1);
          },
        });
      } catch (error) {
        // The target's own open() or close() failed: a failure without an input.
        post({ kind: "failure", target: name, seed, iteration: -1, hex: "", error: text(error) });
        remaining.delete(name);
        continue;
      }
      post({
        kind: "progress",
        target: name,
        seed,
        iterations: report.iterations,
        accepted: report.accepted,
      });
      if (report.failure !== undefined) {
        const error = report.failure.error;
        post({
          kind: "failure",
          target: name,
          seed,
          iteration: report.failure.iteration,
          hex: toHex(report.failure.input),
          error: text(error),
        });
        remaining.delete(name);
      }
    }
  }
  post({ kind: "finished" });
}

function text(error: unknown): string {
  return error instanceof Error ? error.stack ?? String(error) : String(error);
}

self.onmessage = (event: MessageEvent<FuzzJob>) => void run(event.data);
