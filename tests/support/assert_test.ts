import { assertEquals, AssertionError, assertNotEquals } from "./assert.ts";

function refuses(actual: unknown, expected: unknown): void {
  let failed = false;
  try {
    assertEquals(actual, expected);
  } catch (error) {
    if (!(error instanceof AssertionError)) throw error;
    failed = true;
  }
  if (!failed) {
    throw new Error(`assertEquals accepted ${Deno.inspect(actual)} as ${Deno.inspect(expected)}`);
  }
}

Deno.test("assertEquals() tells apart values that have no own enumerable keys", () => {
  refuses(new Date(0), new Date(1));
  refuses(new Set([1]), new Set([2]));
  refuses(new Map([[1, 1]]), new Map([[1, 2]]));
  refuses(new Map(), {});
  refuses(new ArrayBuffer(1), new ArrayBuffer(2));
  refuses(new Error("a"), new Error("b"));
  refuses(/a/, /b/);
  refuses([undefined], []);
  refuses(new Uint8Array([1]), new Uint16Array([1]));
  refuses({ a: undefined }, {});
});

Deno.test("assertEquals() accepts equal structures and names what differs", () => {
  assertEquals(new Date(5), new Date(5));
  assertEquals({ a: [1, new Uint8Array([2])], b: new Map([["x", { y: 1n }]]) }, {
    a: [1, new Uint8Array([2])],
    b: new Map([["x", { y: 1n }]]),
  });
  try {
    assertEquals({ when: new Date(0) }, { when: new Date(1000) }, "the start time");
  } catch (error) {
    if (!(error instanceof AssertionError) || !error.message.startsWith("the start time: ")) {
      throw error;
    }
    return;
  }
  throw new Error("unreachable");
});

Deno.test("assertNotEquals() fails on equal values and passes on different ones", () => {
  assertNotEquals(new Date(0), new Date(1));
  let failed = false;
  try {
    assertNotEquals([1, 2], [1, 2]);
  } catch (error) {
    failed = error instanceof AssertionError;
  }
  if (!failed) throw new Error("assertNotEquals accepted two equal arrays");
});
