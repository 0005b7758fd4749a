import { computed, Signal, signal } from "@preact/signals";
import { h } from "preact";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { PropsSerializer, reviveProps } from "./serialize.ts";

/** Serializes one props object, sends it through JSON text, and revives it. */
function roundTrip(props: Record<string, unknown>): Record<string, unknown> {
  const serializer = new PropsSerializer();
  serializer.add("Test", props);
  return reviveProps(JSON.parse(JSON.stringify(serializer.payload())))[0];
}

function refusal(props: Record<string, unknown>): string {
  try {
    new PropsSerializer().add("Panel (islands/Panel.tsx)", props);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("Expected the props to be refused");
}

Deno.test("PropsSerializer - JSON values round-trip", () => {
  const props = { s: "é</script>", n: 1.5, t: true, f: false, z: null, a: [1, [2, { b: "c" }]] };
  assertEquals(roundTrip(props), props);
});

Deno.test("PropsSerializer - special values round-trip", () => {
  const out = roundTrip({
    u: undefined,
    inArray: [undefined, 1],
    nan: NaN,
    inf: -Infinity,
    negZero: -0,
    big: 12345678901234567890n,
    date: new Date(Date.UTC(2024, 5, 1)),
    bytes: new Uint8Array([0, 1, 254, 255]),
    tagLike: { $vc: "u", v: 1 },
  });
  assert("u" in out && out.u === undefined, "undefined is kept");
  assertEquals((out.inArray as unknown[]).length, 2);
  assertEquals((out.inArray as unknown[])[0], undefined);
  assert(Number.isNaN(out.nan) && out.inf === -Infinity && Object.is(out.negZero, -0));
  assertEquals(out.big, 12345678901234567890n);
  assertEquals((out.date as Date).toISOString(), "2024-06-01T00:00:00.000Z");
  assertEquals(out.bytes, new Uint8Array([0, 1, 254, 255]));
  assertEquals(out.tagLike, { $vc: "u", v: 1 });
});

Deno.test("PropsSerializer - one signal used twice becomes one browser signal", () => {
  const shared = signal({ name: "ada" });
  const double = computed(() => shared.value.name.length * 2);
  const serializer = new PropsSerializer();
  serializer.add("A", { who: shared, double });
  serializer.add("B", { who: shared, list: [shared] });
  const payload = JSON.parse(JSON.stringify(serializer.payload()));
  assertEquals(payload.signals.length, 2);
  const [a, b] = reviveProps(payload);
  assert(a.who instanceof Signal && a.who === b.who && b.who === (b.list as unknown[])[0]);
  assertEquals((a.who as Signal).value, { name: "ada" });
  assertEquals((a.double as Signal).value, 6);
});

Deno.test("PropsSerializer - a signal holding itself revives", () => {
  const box = signal<unknown>(null);
  box.value = { self: box };
  const out = roundTrip({ box });
  const revived = out.box as Signal<{ self: unknown }>;
  assert(revived.value.self === revived);
});

Deno.test("PropsSerializer - refuses what the browser cannot receive, naming the prop", () => {
  const circular: Record<string, unknown> = {};
  circular.me = circular;
  const cases: [Record<string, unknown>, string][] = [
    [{ onClick: () => {} }, 'prop "onClick" is a function'],
    [{ user: { save() {} } }, 'prop "user.save" is a function'],
    [{ items: [1, new Map()] }, 'prop "items.1" is an instance of Map'],
    [{ children: h("p", null) }, 'prop "children" is a JSX element'],
    [{ id: Symbol("x") }, 'prop "id" is a symbol'],
    [{ circular }, 'prop "circular.me" is a circular structure'],
    [{ s: signal(() => 1) }, 'prop "s.value" is a function'],
  ];
  for (const [props, message] of cases) {
    const text = refusal(props);
    assert(text.startsWith(`Island Panel (islands/Panel.tsx): ${message}`), text);
  }
});

Deno.test("PropsSerializer - a shared, non-circular object is not circular", () => {
  const point = { x: 1 };
  assertEquals(roundTrip({ a: point, b: [point, point] }), { a: point, b: [point, point] });
});
