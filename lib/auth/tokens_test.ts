import { assert, assertEquals, assertFalse, assertRejects } from "../../tests/support/assert.ts";
import { MAX_TOKEN_BYTES } from "./limits.ts";
import { mintToken, REFUSAL_REASONS, verifyToken } from "./tokens.ts";

const SECRET = new TextEncoder().encode("test-secret-that-is-comfortably-over-32-bytes");
const OTHER_SECRET = new TextEncoder().encode("another-secret-that-is-also-over-32-bytes!!");
const NOW = new Date("2025-06-01T12:00:00Z");
const NOW_SECONDS = NOW.getTime() / 1000;

function base64url(bytes: Uint8Array): string {
  return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
}

function encodeJson(value: unknown): string {
  return base64url(new TextEncoder().encode(JSON.stringify(value)));
}

// Signs any header and payload with HMAC-SHA-256, whatever the header claims, so that tests can
// build tokens jose would refuse to mint.
async function signRaw(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  secret: Uint8Array<ArrayBuffer> = SECRET,
): Promise<string> {
  const input = `${encodeJson(header)}.${encodeJson(payload)}`;
  const key = await crypto.subtle.importKey(
    "raw",
    secret,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const signature = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(input));
  return `${input}.${base64url(new Uint8Array(signature))}`;
}

const HS256 = { alg: "HS256", typ: "JWT" };

function ourClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    sub: "alice",
    name: "Alice",
    room: "standup",
    role: "guest",
    iss: "videocall-ts",
    iat: NOW_SECONDS,
    exp: NOW_SECONDS + 3600,
    ...overrides,
  };
}

async function expectRefusal(token: unknown, code: string, room?: string): Promise<void> {
  const result = await verifyToken(SECRET, token, { room, now: NOW });
  assertFalse(result.ok, `expected ${code} for ${String(token).slice(0, 80)}`);
  assertEquals(result.code, code, result.detail);
  assertEquals(result.reason, REFUSAL_REASONS[result.code]);
}

Deno.test("mintToken() and verifyToken() round-trip user, name, room, role and expiry", async () => {
  const token = await mintToken(SECRET, {
    userId: "alice",
    displayName: "Alice Liddell",
    room: "standup",
    role: "cohost",
    ttlSeconds: 600,
    now: NOW,
  });
  const result = await verifyToken(SECRET, token, { room: "standup", now: NOW });
  assert(result.ok);
  assertEquals(result.identity, {
    userId: "alice",
    displayName: "Alice Liddell",
    room: "standup",
    role: "cohost",
    expiresAtSeconds: NOW_SECONDS + 600,
  });
});

Deno.test("mintToken() emits sub, name, room, role, iat, exp and iss with an HS256 header", async () => {
  const token = await mintToken(SECRET, { userId: "bob", room: "r1", ttlSeconds: 60, now: NOW });
  const [header, payload] = token.split(".").slice(0, 2).map((part) =>
    JSON.parse(new TextDecoder().decode(Uint8Array.fromBase64(part, { alphabet: "base64url" })))
  );
  assertEquals(header, { alg: "HS256", typ: "JWT" });
  assertEquals(payload, {
    sub: "bob",
    name: "bob",
    room: "r1",
    role: "guest",
    iss: "videocall-ts",
    iat: NOW_SECONDS,
    exp: NOW_SECONDS + 60,
  });
});

Deno.test("mintToken() refuses bad ids, roles, lifetimes, names, secrets and roomless hosts", async () => {
  const cases: [Uint8Array, Parameters<typeof mintToken>[1], string][] = [
    [SECRET, { userId: "a.b", ttlSeconds: 60 }, 'The user id "a.b" may only contain'],
    [SECRET, { userId: "a", room: "x y", ttlSeconds: 60 }, 'The room id "x y"'],
    [SECRET, { userId: "a", role: "admin" as "host", room: "r", ttlSeconds: 60 }, "unknown role"],
    [SECRET, { userId: "a", role: "host", ttlSeconds: 60 }, "a host token must name its room"],
    [SECRET, { userId: "a", ttlSeconds: 0 }, "ttlSeconds must be a positive integer"],
    [SECRET, { userId: "a", ttlSeconds: 1.5 }, "ttlSeconds must be a positive integer"],
    [SECRET, { userId: "a", displayName: "", ttlSeconds: 60 }, "display name is empty"],
    [SECRET, { userId: "a", displayName: "x\u202e", ttlSeconds: 60 }, "printable characters"],
    [SECRET, { userId: "a", displayName: "x".repeat(101), ttlSeconds: 60 }, "at most 100"],
    [new Uint8Array(31), { userId: "a", ttlSeconds: 60 }, "Cannot use a 31-byte secret"],
  ];
  for (const [secret, options, message] of cases) {
    const error = await assertRejects(() => mintToken(secret, options));
    assert(error.message.includes(message), `${JSON.stringify(options)}: ${error.message}`);
  }
});

Deno.test("verifyToken() refuses a token signed with another secret as invalid", async () => {
  const forged = await mintToken(OTHER_SECRET, { userId: "alice", ttlSeconds: 60, now: NOW });
  await expectRefusal(forged, "invalid");
});

Deno.test("verifyToken() refuses a tampered payload or signature as invalid", async () => {
  const token = await mintToken(SECRET, { userId: "alice", room: "r", ttlSeconds: 60, now: NOW });
  const [header, , signature] = token.split(".");
  const elevated = encodeJson(ourClaims({ role: "host", room: "r" }));
  await expectRefusal(`${header}.${elevated}.${signature}`, "invalid");
  const flipped = signature.slice(0, -2) + (signature.at(-2) === "A" ? "B" : "A") +
    signature.at(-1);
  await expectRefusal(`${token.split(".").slice(0, 2).join(".")}.${flipped}`, "invalid");
});

Deno.test("verifyToken() accepts only HS256: alg none, RS256, HS512 and friends are invalid", async () => {
  const payload = encodeJson(ourClaims());
  await expectRefusal(`${encodeJson({ alg: "none", typ: "JWT" })}.${payload}.`, "invalid");
  await expectRefusal(`${encodeJson({ alg: "none" })}.${payload}.c2ln`, "invalid");
  for (const alg of ["RS256", "ES256", "PS256", "HS384", "HS512", "hs256", "EdDSA"]) {
    await expectRefusal(await signRaw({ alg, typ: "JWT" }, ourClaims()), "invalid");
  }
  await expectRefusal(await signRaw({ typ: "JWT" }, ourClaims()), "invalid");
  await expectRefusal(
    await signRaw({ ...HS256, crit: ["b64"], b64: false }, ourClaims()),
    "invalid",
  );
  assert((await verifyToken(SECRET, await signRaw(HS256, ourClaims()), { now: NOW })).ok);
});

Deno.test("verifyToken() refuses an expired token, but accepts one within the leeway", async () => {
  const token = await signRaw(HS256, ourClaims({ exp: NOW_SECONDS - 20 }));
  assert((await verifyToken(SECRET, token, { now: NOW })).ok, "20 s late is within 30 s");
  await expectRefusal(await signRaw(HS256, ourClaims({ exp: NOW_SECONDS - 31 })), "expired");
  const strict = await verifyToken(SECRET, token, { now: NOW, leewaySeconds: 0 });
  assertFalse(strict.ok);
  assertEquals(strict.code, "expired");
  assertEquals(strict.reason, "The token has expired; ask for a new link");
});

Deno.test("verifyToken() refuses nbf or iat beyond the leeway as not yet valid", async () => {
  await expectRefusal(await signRaw(HS256, ourClaims({ nbf: NOW_SECONDS + 31 })), "not_yet_valid");
  await expectRefusal(await signRaw(HS256, ourClaims({ iat: NOW_SECONDS + 31 })), "not_yet_valid");
  const skewed = await signRaw(HS256, ourClaims({ nbf: NOW_SECONDS + 20, iat: NOW_SECONDS + 20 }));
  assert((await verifyToken(SECRET, skewed, { now: NOW })).ok, "20 s of skew is tolerated");
});

Deno.test("verifyToken() refuses a token for another room, and accepts a roomless guest", async () => {
  const token = await mintToken(SECRET, { userId: "a", room: "standup", ttlSeconds: 60, now: NOW });
  await expectRefusal(token, "wrong_room", "retro");
  const result = await verifyToken(SECRET, token, { room: "retro", now: NOW });
  assertFalse(result.ok);
  assertEquals(result.reason, "The token is for another meeting");

  const roomless = await mintToken(SECRET, { userId: "a", ttlSeconds: 60, now: NOW });
  const anywhere = await verifyToken(SECRET, roomless, { room: "retro", now: NOW });
  assert(anywhere.ok);
  assertEquals(anywhere.identity.room, undefined);
  assertEquals(anywhere.identity.role, "guest");
});

Deno.test("verifyToken() refuses missing or bad claims as invalid, with a log detail", async () => {
  const cases: Record<string, unknown>[] = [
    ourClaims({ sub: undefined }),
    ourClaims({ sub: "" }),
    ourClaims({ sub: "alice.*" }),
    ourClaims({ sub: "alice@example.com" }),
    ourClaims({ sub: "x".repeat(65) }),
    ourClaims({ sub: 42 }),
    ourClaims({ exp: undefined }),
    ourClaims({ exp: "tomorrow" }),
    ourClaims({ room: "stand up" }),
    ourClaims({ room: ["standup"] }),
    ourClaims({ role: "admin" }),
    ourClaims({ role: "host", room: undefined }),
    ourClaims({ name: 7 }),
    ourClaims({ iss: undefined }),
    ourClaims({ iss: "someone-else" }),
    ourClaims({ typ: "session" }),
    ourClaims({ room_join: "yes" }),
    ourClaims({ observer: 1 }),
  ];
  for (const claims of cases) {
    const result = await verifyToken(SECRET, await signRaw(HS256, claims), { now: NOW });
    assertFalse(result.ok, JSON.stringify(claims));
    assertEquals(result.code, "invalid", JSON.stringify(claims));
    assertEquals(result.reason, "The token is invalid");
    assert(result.detail.length > 0);
  }
});

Deno.test("verifyToken() refuses oversize tokens before parsing them", async () => {
  const padded = await signRaw(HS256, ourClaims({ pad: "x".repeat(MAX_TOKEN_BYTES) }));
  await expectRefusal(padded, "invalid");
  const result = await verifyToken(SECRET, "a".repeat(10_000_000), { now: NOW });
  assertFalse(result.ok);
  assertEquals(result.detail, `longer than ${MAX_TOKEN_BYTES} bytes`);
});

Deno.test("verifyToken() refuses garbage of every kind as invalid without throwing", async () => {
  const garbage: unknown[] = [
    "",
    ".",
    "..",
    "a.b.c",
    "a.b",
    "a.b.c.d.e",
    "Bearer x.y.z",
    " eyJ.eyJ.sig",
    "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln",
    `${encodeJson(HS256)}.${encodeJson([1, 2])}.c2ln`,
    `${encodeJson("HS256")}.${encodeJson(ourClaims())}.c2ln`,
    "\u0000\u0000.\u0000.\u0000",
    "😀.😀.😀",
    undefined,
    null,
    42,
    { toString: () => "a.b.c" },
  ];
  for (const token of garbage) await expectRefusal(token, "invalid");
  await expectRefusal(await signRaw(HS256, ourClaims()).then((t) => t + "="), "invalid");
  // A valid signature over a payload that is not JSON.
  const notJson = `${encodeJson(HS256)}.${base64url(new TextEncoder().encode("{oops"))}`;
  const raw = await signRaw(HS256, {});
  await expectRefusal(`${notJson}.${raw.split(".")[2]}`, "invalid");
});

Deno.test("verifyToken() accepts a videocall-rs room access token, host or not", async () => {
  const claims = {
    sub: "alice",
    room: "standup-2024",
    room_join: true,
    is_host: true,
    is_guest: false,
    display_name: "Alice",
    observer: false,
    end_on_host_leave: true,
    exp: NOW_SECONDS + 600,
    iss: "videocall-meeting-backend",
    typ: "room_access",
  };
  const host = await verifyToken(SECRET, await signRaw(HS256, claims), {
    room: "standup-2024",
    now: NOW,
  });
  assert(host.ok, host.ok ? "" : host.detail);
  assertEquals(host.identity, {
    userId: "alice",
    displayName: "Alice",
    room: "standup-2024",
    role: "host",
    expiresAtSeconds: NOW_SECONDS + 600,
  });
  // Older tokens have no typ; a guest has is_host false.
  const legacy = { ...claims, typ: undefined, is_host: false };
  const guest = await verifyToken(SECRET, await signRaw(HS256, legacy), { now: NOW });
  assert(guest.ok);
  assertEquals(guest.identity.role, "guest");
});

Deno.test("verifyToken() refuses videocall-rs tokens that do not admit, or lack room_join", async () => {
  const base = {
    sub: "alice",
    room: "standup",
    room_join: true,
    is_host: false,
    display_name: "Alice",
    exp: NOW_SECONDS + 600,
    iss: "videocall-meeting-backend",
  };
  await expectRefusal(await signRaw(HS256, { ...base, room_join: false }), "not_admitted");
  await expectRefusal(await signRaw(HS256, { ...base, observer: true }), "not_admitted");
  await expectRefusal(await signRaw(HS256, { ...base, room_join: undefined }), "invalid");
  await expectRefusal(await signRaw(HS256, { ...base, room: undefined }), "invalid");
  await expectRefusal(await signRaw(HS256, { ...base, is_host: "true" }), "invalid");
  // Their guest ids ("guest:<uuid>") and e-mail ids cannot be ours: they would reach NATS subjects.
  await expectRefusal(await signRaw(HS256, { ...base, sub: "guest:1b4e28ba" }), "invalid");
});

Deno.test("verifyToken() tidies display names: controls removed, long ones cut, empty → id", async () => {
  const cases: [unknown, string][] = [
    ["Al\u0000ice\u202e", "Alice"],
    ["  Bob  ", "Bob"],
    ["", "alice"],
    ["\u0007", "alice"],
    ["é".repeat(150), "é".repeat(100)],
    ["😀".repeat(101), "😀".repeat(100)],
  ];
  for (const [name, expected] of cases) {
    const result = await verifyToken(SECRET, await signRaw(HS256, ourClaims({ name })), {
      now: NOW,
    });
    assert(result.ok, JSON.stringify(name));
    assertEquals(result.identity.displayName, expected);
  }
});

Deno.test("verifyToken() throws only for programming errors: short secret, negative leeway", async () => {
  const token = await mintToken(SECRET, { userId: "a", ttlSeconds: 60 });
  const short = await assertRejects(() => verifyToken(new Uint8Array(8), token));
  assert(short instanceof RangeError);
  const leeway = await assertRejects(() => verifyToken(SECRET, token, { leewaySeconds: -1 }));
  assert(leeway instanceof RangeError);
});
