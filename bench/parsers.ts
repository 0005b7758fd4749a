/**
 * `deno task bench:parsers`: what hostile input costs the parsers that read it before any
 * authentication — the request-token reader (cookies, Authorization, query) and the embedded
 * store's reopen. Each hostile case is timed against an ordinary request in the same run; the
 * ratio is per call. Tests check what these functions do with such input, never how fast.
 *
 * @module
 */
import { tokenFromRequest } from "../lib/auth/request_token.ts";
import { PgliteStore } from "../lib/store/pglite_store.ts";

/** Calls `fn` until `minMs` have passed and returns the mean microseconds per call. */
function timePerCallUs(fn: () => unknown, minMs = 300): number {
  for (let i = 0; i < 3; i++) fn();
  let calls = 0;
  const started = performance.now();
  let elapsed = 0;
  while (elapsed < minMs) {
    fn();
    calls++;
    elapsed = performance.now() - started;
  }
  return elapsed * 1000 / calls;
}

function request(headers: [string, string][], path = "/"): Request {
  return new Request(`http://localhost${path}`, { headers });
}

const ordinary = request([["cookie", "theme=dark; vc_session=a.b.c"]]);
const cases: [string, Request][] = [
  ["1 MB cookie value", request([["cookie", "a=" + "x".repeat(1_000_000)]])],
  ["1 MB of ';'", request([["cookie", ";".repeat(1_000_000)]])],
  ["session cookie of 500 KB '='", request([["cookie", "vc_session=" + "=".repeat(500_000)]])],
  ["4,000 cookies before ours", request([["cookie", `${"a=b; ".repeat(4000)}vc_session=t.t.t`]])],
  ["1 MB bearer token", request([["authorization", "Bearer " + "y".repeat(1_000_000)]])],
];

const baseUs = timePerCallUs(() => tokenFromRequest(ordinary));
console.log("tokenFromRequest(), per call:");
console.log(`  ${"ordinary request (baseline)".padEnd(34)} ${baseUs.toFixed(2).padStart(10)} µs`);
for (const [name, req] of cases) {
  const us = timePerCallUs(() => tokenFromRequest(req));
  console.log(
    `  ${name.padEnd(34)} ${us.toFixed(2).padStart(10)} µs  ${(us / baseUs).toFixed(0)}x baseline`,
  );
}

const dir = await Deno.makeTempDir({ prefix: "videocall_bench_pglite_" });
try {
  let started = performance.now();
  const first = await PgliteStore.open(dir);
  await first.createMeeting({ id: "m", hostUserId: "ada", hostDisplayName: "Ada" });
  await first.close();
  const createMs = performance.now() - started;
  started = performance.now();
  const second = await PgliteStore.open(dir);
  await second.getMeeting("m");
  await second.close();
  const reopenMs = performance.now() - started;
  console.log("\nPgliteStore.open():");
  console.log(`  fresh directory (baseline) ${createMs.toFixed(0).padStart(8)} ms`);
  console.log(
    `  reopen                     ${reopenMs.toFixed(0).padStart(8)} ms  ${
      (reopenMs / createMs).toFixed(2)
    }x baseline`,
  );
} finally {
  await Deno.remove(dir, { recursive: true });
}
