import { assertEquals } from "../../tests/support/assert.ts";
import { chooseServer, PICK_CANDIDATES } from "./pool.ts";

const timer = (rtt: Record<string, number>) => (origin: string) =>
  origin in rtt ? Promise.resolve(rtt[origin]) : Promise.reject(new Error("unreachable"));

Deno.test("the least loaded of the near instances wins; a far one loses though idle", async () => {
  const pool = [
    { url: "https://far.example", load: 0 },
    { url: "https://near-busy.example", load: 0.3 },
    { url: "https://nearest.example", load: 0.6 },
  ];
  const rtt = {
    "https://far.example": 90,
    "https://near-busy.example": 12,
    "https://nearest.example": 4,
  };
  assertEquals(await chooseServer(pool, { time: timer(rtt) }), "https://near-busy.example");
});

Deno.test("no choice: nothing listed, only the answering instance, or none answers", async () => {
  assertEquals(await chooseServer([], { time: timer({}) }), undefined);
  // The answering instance listed twice (ws:// and http:// of one host are one origin).
  const one = [{ url: "http://a.example:8080", load: 0, self: true }, {
    url: "ws://a.example:8080/x",
    load: 0,
    self: true,
  }];
  assertEquals(await chooseServer(one, { time: timer({ "http://a.example:8080": 1 }) }), undefined);
  // A draining instance lists only the other one: that is where to go.
  const draining = [{ url: "https://b.example", load: 0.5, self: false }];
  assertEquals(
    await chooseServer(draining, { time: timer({ "https://b.example": 3 }) }),
    "https://b.example",
  );
  const two = [{ url: "https://a.example", load: 0 }, { url: "https://b.example", load: 0 }];
  assertEquals(await chooseServer(two, { time: timer({}) }), undefined);
  assertEquals(await chooseServer(two, { time: () => Promise.resolve(Infinity) }), undefined);
});

Deno.test("an instance with a URL that does not parse is skipped; only the first three are timed", async () => {
  const timed: string[] = [];
  const pool = [
    "not a url",
    "https://a.example",
    "https://b.example",
    "https://c.example",
    "https://d.example",
  ]
    .map((url) => ({ url, load: 0 }));
  const chosen = await chooseServer(pool, {
    time: (origin) => {
      timed.push(origin);
      return Promise.resolve(origin === "https://a.example" ? Infinity : 5);
    },
  });
  assertEquals(timed.length, PICK_CANDIDATES);
  assertEquals(timed.includes("https://d.example"), false);
  assertEquals(chosen, "https://b.example");
});

Deno.test("an https client never moves to a plain-http instance, however idle or near", async () => {
  const pool = [
    { url: "http://idle.example", load: 0 },
    { url: "https://busy.example", load: 0.9 },
  ];
  const time = timer({ "http://idle.example": 1, "https://busy.example": 40 });
  assertEquals(
    await chooseServer(pool, { current: "https://busy.example", time }),
    "https://busy.example",
  );
  assertEquals(
    await chooseServer(pool, { current: "http://x.example", time }),
    "http://idle.example",
  );
});
