import { assert, assertEquals, assertGreater } from "../../tests/support/assert.ts";
import { sharedNatsUrl } from "../../tests/support/nats.ts";
import { NatsBus } from "./nats_bus.ts";

const url = await sharedNatsUrl();

Deno.test({
  name: "NatsBus delivers to other connections and never echoes to the publisher",
  ignore: url === undefined,
  async fn() {
    const a = await NatsBus.connect({ url: url!, name: "test-a" });
    const b = await NatsBus.connect({ url: url!, name: "test-b" });
    try {
      const subject = `test.${crypto.randomUUID().slice(0, 8)}`;
      const atA: string[] = [];
      const atB: string[] = [];
      a.subscribe(`${subject}.*`, (s, d) => atA.push(`${s}:${d[0]}`));
      const sub = b.subscribe(`${subject}.*`, (s, d) => atB.push(`${s}:${d[0]}`));
      assertGreater(a.maxPayloadBytes, 1000);
      assert(a.isConnected());
      // Round-trip through the server so both subscriptions are registered.
      await new Promise((r) => setTimeout(r, 50));
      a.publish(`${subject}.x`, new Uint8Array([1]));
      b.publish(`${subject}.y`, new Uint8Array([2]));
      const deadline = Date.now() + 2000;
      while ((atA.length < 1 || atB.length < 1) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assertEquals(atA, [`${subject}.y:2`]);
      assertEquals(atB, [`${subject}.x:1`]);
      sub.unsubscribe();
    } finally {
      await a.close();
      await b.close();
    }
    assertEquals(a.publish("test.closed", new Uint8Array([1])), false);
  },
});
