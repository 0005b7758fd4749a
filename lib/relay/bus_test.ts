import { assertEquals } from "../../tests/support/assert.ts";
import { subjectMatches } from "./bus.ts";
import { MemoryBusHub } from "./memory_bus.ts";

Deno.test("subjectMatches() follows NATS wildcard rules", () => {
  assertEquals(subjectMatches("room.a.*", "room.a.123"), true);
  assertEquals(subjectMatches("room.a.*", "room.b.123"), false);
  assertEquals(subjectMatches("room.a.*", "room.a"), false);
  assertEquals(subjectMatches("room.>", "room.a.b.c"), true);
  assertEquals(subjectMatches("room.>", "room"), false);
  assertEquals(subjectMatches("room.a.system", "room.a.system"), true);
});

Deno.test("MemoryBus delivers to other clients of the hub but never back to the publisher", async () => {
  const hub = new MemoryBusHub();
  const a = hub.connect();
  const b = hub.connect();
  const got: string[] = [];
  a.subscribe("room.x.*", (s) => got.push(`a:${s}`));
  const sub = b.subscribe("room.x.*", (s) => got.push(`b:${s}`));
  a.publish("room.x.1", new Uint8Array([1]));
  b.publish("room.x.2", new Uint8Array([2]));
  await Promise.resolve();
  assertEquals(got.sort(), ["a:room.x.2", "b:room.x.1"]);
  sub.unsubscribe();
  a.publish("room.x.3", new Uint8Array([3]));
  await Promise.resolve();
  assertEquals(got.length, 2);
  await a.close();
  assertEquals(a.publish("room.x.4", new Uint8Array()), false);
  await b.close();
});
