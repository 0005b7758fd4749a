import { assert, assertEquals } from "../../tests/support/assert.ts";
import { encodeLiveness, InstanceTracker, Liveness, parseLiveness } from "./liveness.ts";
import { MemoryBusHub } from "./memory_bus.ts";

const enc = new TextEncoder();

Deno.test("liveness messages round-trip; malformed ones are ignored", () => {
  for (const m of [{ t: "alive", i: "a" }, { t: "bye", i: "b" }] as const) {
    assertEquals(parseLiveness(encodeLiveness(m)), m);
  }
  for (const text of ["", "null", '{"t":"alive"}', '{"t":"dead","i":"a"}', '{"t":"bye","i":""}']) {
    assertEquals(parseLiveness(enc.encode(text)), undefined, text);
  }
});

Deno.test("InstanceTracker declares an instance dead after its silence, and notices it back", () => {
  const tracker = new InstanceTracker();
  tracker.heard("b", 0);
  tracker.heard("c", 0);
  tracker.heard("c", 2_000);
  assertEquals(tracker.expire(2_400, 2_500), []);
  assertEquals(tracker.expire(2_600, 2_500), [{ instance: "b", silentMs: 2_600 }]);
  assertEquals(tracker.size, 1);
  assertEquals(tracker.expire(2_700, 2_500), [], "declared dead once");
  assertEquals(tracker.heard("b", 3_000), true, "b was dead and is back");
  assertEquals(tracker.heard("b", 3_100), false);
});

Deno.test("InstanceTracker: a goodbye is a death without the wait; restart() forgives silence", () => {
  const tracker = new InstanceTracker();
  tracker.heard("b", 0);
  tracker.heard("c", 0);
  assertEquals(tracker.left("b", 10), true);
  assertEquals(tracker.left("b", 20), false, "only once");
  tracker.restart(5_000);
  assertEquals(tracker.expire(6_000, 2_500), [], "c's timeout starts again at the restart");
  assertEquals(tracker.expire(8_000, 2_500).map((d) => d.instance), ["c"]);
});

Deno.test("Liveness on a bus: a silent instance is reported dead, a goodbye at once, and a return", async () => {
  const hub = new MemoryBusHub();
  const events: string[] = [];
  const make = (id: string, record = false) =>
    new Liveness({
      bus: hub.connect(),
      instanceId: id,
      intervalMs: 40,
      timeoutMs: 100,
      now: () => performance.now(),
      onDead: (instance, silentMs) =>
        record && events.push(`${instance} ${silentMs === 0 ? "said bye" : "went silent"}`),
      onBack: (instance) => record && events.push(`${instance} is back`),
    });
  const a = make("a", true);
  let b = make("b");
  const c = make("c");
  try {
    await waitFor(() => a.others === 2);
    b.stop(false); // a crash: no goodbye
    await waitFor(() => events.length === 1);
    assertEquals(events, ["b went silent"]);
    c.stop(true);
    await waitFor(() => events.length === 2);
    assertEquals(events[1], "c said bye");
    assertEquals(a.others, 0);
    // b was only cut off: heard again, it is reported back.
    b = make("b");
    await waitFor(() => events.length === 3);
    assertEquals(events[2], "b is back");
  } finally {
    a.stop();
    b.stop();
    c.stop();
  }
});

async function waitFor(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    assert(Date.now() < deadline, "timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("a card whose URL is not a plain http(s) URL is dropped (a CSP directive hidden in a host name, credentials, a query), the instance still alive", () => {
  const alive = (u: string) =>
    enc.encode(JSON.stringify({ t: "alive", i: "x", u, s: 1, c: 10, a: true, w: false }));
  for (
    const u of [
      "https://x;sandbox",
      "https://a,b",
      "https://user@host",
      "http://h/?q=1",
      "javascript:1",
    ]
  ) {
    const m = parseLiveness(alive(u));
    assertEquals(m?.t, "alive", u);
    assertEquals(m?.card, undefined, u);
  }
  assertEquals(
    parseLiveness(alive("https://meet.example.org:8443/"))?.card?.url,
    "https://meet.example.org:8443/",
  );
  assertEquals(parseLiveness(alive("http://[::1]:8080"))?.card?.url, "http://[::1]:8080");
});
