import { assert, assertEquals, assertFalse } from "../../tests/support/assert.ts";
import { assertSecret, secretFromEnv } from "./secret.ts";

Deno.test("secretFromEnv() returns the UTF-8 bytes of a secret of 32 bytes or more", () => {
  const result = secretFromEnv("x".repeat(32));
  assert(result.ok);
  assertEquals(result.secret, new TextEncoder().encode("x".repeat(32)));
  // 11 three-byte characters are 33 bytes, though only 11 characters.
  assert(secretFromEnv("€".repeat(11)).ok);
});

Deno.test("secretFromEnv() refuses a missing or short secret and says how to make one", () => {
  const missing = secretFromEnv(undefined);
  assertFalse(missing.ok);
  assertEquals(missing.error, "JWT_SECRET is not set; generate one with: openssl rand -base64 48");
  assertFalse(secretFromEnv("").ok);
  const short = secretFromEnv("x".repeat(31), "MEETING_SECRET");
  assertFalse(short.ok);
  assertEquals(
    short.error,
    "MEETING_SECRET is 31 bytes long but must be at least 32 bytes; " +
      "generate one with: openssl rand -base64 48",
  );
});

Deno.test("assertSecret() throws for fewer than 32 bytes and never echoes the secret", () => {
  assertSecret(new Uint8Array(32));
  let message = "";
  try {
    assertSecret(new TextEncoder().encode("hunter2"));
  } catch (error) {
    message = (error as Error).message;
  }
  assertEquals(message, "Cannot use a 7-byte secret: HS256 needs at least 32 bytes");
});
