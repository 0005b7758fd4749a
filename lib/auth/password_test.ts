import { assert, assertEquals, assertFalse, assertRejects } from "../../tests/support/assert.ts";
import { hashPassword, verifyPassword } from "./password.ts";
import { PBKDF2_ITERATIONS } from "./limits.ts";

// Tests use few iterations to stay fast; one test checks the default count.
const FAST = { iterations: 1000 };

Deno.test("hashPassword() encodes scheme, default iterations, 16-byte salt and 32-byte hash", async () => {
  const stored = await hashPassword("correct horse battery staple");
  const [scheme, iterations, salt, hash] = stored.split("$");
  assertEquals(scheme, "pbkdf2-sha256");
  assertEquals(Number(iterations), PBKDF2_ITERATIONS);
  assert(PBKDF2_ITERATIONS >= 210_000);
  assertEquals(Uint8Array.fromBase64(salt).length, 16);
  assertEquals(Uint8Array.fromBase64(hash).length, 32);
  assert(await verifyPassword("correct horse battery staple", stored));
});

Deno.test("hashPassword() salts: the same password hashes differently each time", async () => {
  const a = await hashPassword("same", FAST);
  const b = await hashPassword("same", FAST);
  assert(a !== b);
  assert(await verifyPassword("same", a));
  assert(await verifyPassword("same", b));
});

Deno.test("verifyPassword() refuses a wrong, near or differently cased password", async () => {
  const stored = await hashPassword("Open Sesame ü", FAST);
  assert(await verifyPassword("Open Sesame ü", stored));
  for (const wrong of ["open sesame ü", "Open Sesame u", "Open Sesame ü ", "Open Sesame", ""]) {
    assertFalse(await verifyPassword(wrong, stored), JSON.stringify(wrong));
  }
});

Deno.test("verifyPassword() accepts a hash computed by another PBKDF2-SHA-256 implementation", async () => {
  // Python: hashlib.pbkdf2_hmac("sha256", b"password", b"NaCl-and-pepper!", 4096)
  const stored = "pbkdf2-sha256$4096$TmFDbC1hbmQtcGVwcGVyIQ==$" +
    "H5SZE+MqDynX1uVg0i0yDTCQ0ed9EXZR229WiOMm5kg=";
  assert(await verifyPassword("password", stored));
  assertFalse(await verifyPassword("Password", stored));
});

Deno.test("verifyPassword() returns false, never throws, for hostile stored strings", async () => {
  const good = await hashPassword("pw", FAST);
  const [, , salt, hash] = good.split("$");
  const hostile: unknown[] = [
    "",
    "$$$",
    "pbkdf2-sha256",
    "pbkdf2-sha256$1000$",
    `pbkdf2-sha256$1000$${salt}`,
    `pbkdf2-sha256$1000$${salt}$${hash}$extra`,
    `pbkdf2-sha512$1000$${salt}$${hash}`,
    `PBKDF2-SHA256$1000$${salt}$${hash}`,
    `pbkdf2-sha256$0$${salt}$${hash}`,
    `pbkdf2-sha256$-1000$${salt}$${hash}`,
    `pbkdf2-sha256$01000$${salt}$${hash}`,
    `pbkdf2-sha256$1e4$${salt}$${hash}`,
    `pbkdf2-sha256$999$${salt}$${hash}`,
    `pbkdf2-sha256$99999999$${salt}$${hash}`,
    `pbkdf2-sha256$9007199254740993$${salt}$${hash}`,
    `pbkdf2-sha256$1000$!!!!$${hash}`,
    `pbkdf2-sha256$1000$${salt}$not base64`,
    `pbkdf2-sha256$1000$${salt}$${hash.slice(0, -2)}`,
    `pbkdf2-sha256$1000$$${hash}`,
    `pbkdf2-sha256$1000$AAAA$${hash}`,
    `pbkdf2-sha256$1000$${salt}$AAAA`,
    `pbkdf2-sha256$1000$${salt}$${"A".repeat(200)}`,
    `pbkdf2-sha256$1000$${salt}$${hash}`.padEnd(100_000, "="),
    `pbkdf2-sha256$1000$ ${salt}$${hash}`,
    `pbkdf2-sha256$1000$${salt}\n$${hash}`,
    "pbkdf2-sha256$1000$\u0000$\u0000",
    undefined,
    null,
    42,
    { toString: () => good },
  ];
  for (const stored of hostile) {
    assertFalse(await verifyPassword("pw", stored as string), JSON.stringify(stored));
  }
});

Deno.test("verifyPassword() returns false for a hostile password input", async () => {
  const stored = await hashPassword("pw", FAST);
  assertFalse(await verifyPassword("x".repeat(1_000_000), stored));
  assertFalse(await verifyPassword(undefined as unknown as string, stored));
});

Deno.test("hashPassword() refuses an empty or overlong password and a bad iteration count", async () => {
  for (
    const [password, iterations] of [["", 1000], ["x".repeat(1025), 1000], ["ok", 10]] as const
  ) {
    const error = await assertRejects(() => hashPassword(password, { iterations }));
    assert(error instanceof RangeError, error.message);
  }
  assert(await verifyPassword("x".repeat(1024), await hashPassword("x".repeat(1024), FAST)));
});
