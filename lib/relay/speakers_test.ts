import { assert, assertEquals } from "../../tests/support/assert.ts";
import { DOMINANT_MARGIN_DB, SpeakerRanking } from "./speakers.ts";

/** Feeds 20 ms packets for `ms` milliseconds from `levels` (source → level), from `start`. */
function talk(r: SpeakerRanking, levels: [bigint, number][], start: number, ms: number): number {
  let t = start;
  for (; t < start + ms; t += 20) for (const [source, level] of levels) r.hear(source, level, t);
  return t;
}

Deno.test("SpeakerRanking keeps the N loudest active speakers, loudest first, and drops the silent", () => {
  const r = new SpeakerRanking(2);
  const t = talk(r, [[1n, 40], [2n, 20], [3n, 30], [4n, 110]], 0, 1000);
  assertEquals(r.state(t).speakers, [2n, 3n]);
  // 2 falls silent: it leaves the list, 1 moves in.
  const t2 = talk(r, [[1n, 40], [2n, 127], [3n, 30]], t, 1000);
  assertEquals(r.state(t2).speakers, [3n, 1n]);
  // Nobody heard for a second: nobody listed.
  assertEquals(r.state(t2 + 1500).speakers, []);
});

Deno.test("SpeakerRanking admits a louder newcomer at once and always forwards senders without a level", () => {
  const r = new SpeakerRanking(1);
  const t = talk(r, [[1n, 40]], 0, 1000);
  // Packets of a much louder voice are forwarded from (nearly) its first packet.
  let forwarded = 0;
  for (let i = 0; i < 10; i++) if (r.hear(2n, 5, t + i * 20)) forwarded++;
  assert(forwarded >= 8, `${forwarded} of 10`);
  assertEquals(r.hear(9n, undefined, t), true);
  assertEquals(r.hear(3n, 127, t), false, "silence is not forwarded");
});

Deno.test("SpeakerRanking's dominant speaker survives silences and changes only for a clearly louder voice", () => {
  const r = new SpeakerRanking(3);
  let t = talk(r, [[1n, 30]], 0, 1000);
  assertEquals(r.state(t).dominant, 1n);
  t = talk(r, [[1n, 127]], t, 800);
  assertEquals(r.state(t).dominant, 1n, "a pause keeps the speaker");
  t = talk(r, [[1n, 30], [2n, 30 - DOMINANT_MARGIN_DB + 2]], t, 1000);
  assertEquals(r.state(t).dominant, 1n, "slightly louder is not enough");
  t = talk(r, [[1n, 30], [2n, 30 - DOMINANT_MARGIN_DB - 4]], t, 1000);
  assertEquals(r.state(t).dominant, 2n);
  r.forget(2n);
  assertEquals(r.state(t).dominant, 1n);
});
