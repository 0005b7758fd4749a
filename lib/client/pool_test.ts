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
  assertEquals(await chooseServer(pool, timer(rtt)), "https://near-busy.example");
});

Deno.test("no choice: fewer than two origins, or none answers", async () => {
  assertEquals(await chooseServer([], timer({})), undefined);
  // One instance listed twice (ws:// and http:// of one host are one origin).
  const one = [{ url: "http://a.example:8080", load: 0 }, {
    url: "ws://a.example:8080/x",
    load: 0,
  }];
  assertEquals(await chooseServer(one, timer({ "http://a.example:8080": 1 })), undefined);
  const two = [{ url: "https://a.example", load: 0 }, { url: "https://b.example", load: 0 }];
  assertEquals(await chooseServer(two, timer({})), undefined);
  assertEquals(await chooseServer(two, () => Promise.resolve(Infinity)), undefined);
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
  const chosen = await chooseServer(pool, (origin) => {
    timed.push(origin);
    return Promise.resolve(origin === "https://a.example" ? Infinity : 5);
  });
  assertEquals(timed.length, PICK_CANDIDATES);
  assertEquals(timed.includes("https://d.example"), false);
  assertEquals(chosen, "https://b.example");
});
