/**
 * The key schedule, nonces, tamper detection and key lifetimes of end-to-end encryption.
 */
import { assert, assertEquals, assertNotEquals } from "../../../tests/support/assert.ts";
import { decryptFrame, encryptFrame, type FrameHeader } from "./frame_cipher.ts";
import { Identity, unwrapKey, wrapKey } from "./identity.ts";
import { Keyring, OLD_KEY_GRACE_MS } from "./keyring.ts";
import { safetyCode } from "./safety_code.ts";
import { nonce, SenderKey } from "./sender_key.ts";

const header = (over: Partial<FrameHeader> = {}): FrameHeader => ({
  senderSession: 42n,
  mediaType: 1,
  keyId: 0,
  sequence: 7n,
  key: true,
  ...over,
});
const bytes = (text: string) => new TextEncoder().encode(text);
const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

Deno.test("two sessions derive the same wrapping key; a third cannot unwrap what they send", async () => {
  const [a, b, eve] = await Promise.all([
    Identity.generate(),
    Identity.generate(),
    Identity.generate(),
  ]);
  const ab = await a.wrappingKey(1n, 2n, b.publicKey);
  const ba = await b.wrappingKey(2n, 1n, a.publicKey);
  const media = await SenderKey.fresh(0);
  const context = { from: 1n, to: 2n, keyId: 0 };
  const wrapped = await wrapKey(ab, media.secret, context);
  assertEquals(await unwrapKey(ba, wrapped, context), media.secret);
  const eveKey = await eve.wrappingKey(3n, 1n, a.publicKey);
  await unwrapKey(eveKey, wrapped, context).then(
    () => assert(false, "Eve unwrapped it"),
    () => {},
  );
  // Replayed to someone else, or as another key id: refused.
  await unwrapKey(ba, wrapped, { ...context, to: 3n }).then(() => assert(false), () => {});
  await unwrapKey(ba, wrapped, { ...context, keyId: 1 }).then(() => assert(false), () => {});
  const flipped = wrapped.slice();
  flipped[20] ^= 1;
  await unwrapKey(ba, flipped, context).then(() => assert(false), () => {});
});

Deno.test("a bad public key is refused", async () => {
  const a = await Identity.generate();
  const junk = new Uint8Array(65);
  junk[0] = 4;
  await a.wrappingKey(1n, 2n, junk).then(() => assert(false, "accepted"), () => {});
});

Deno.test("the ratchet is deterministic, moves the key id on, and changes key and salt", async () => {
  const k0 = await SenderKey.fresh(9);
  const k1 = await k0.ratchet();
  const again = await (await SenderKey.fromSecret(9, k0.secret)).ratchet();
  assertEquals(k1.keyId, 10);
  assertEquals(k1.secret, again.secret);
  assertNotEquals(hex(k1.secret.subarray(0, 16)), hex(k0.secret.subarray(0, 16)));
  assertNotEquals(hex(k1.salt), hex(k0.salt));
  // The ratcheted key cannot read frames of the old one.
  const sealed = await encryptFrame(k0, header({ keyId: 9 }), bytes("before you came"));
  const impostor = await SenderKey.fromSecret(9, k1.secret);
  assertEquals(await decryptFrame(impostor, header({ keyId: 9 }), sealed), undefined);
});

Deno.test("nonces never repeat across 2^20 frames of one key and its ratcheted successor", async () => {
  const k0 = await SenderKey.fresh(0);
  const k1 = await k0.ratchet();
  const seen = new Set<string>();
  for (const key of [k0, k1]) {
    for (let i = 0; i < 2 ** 20; i++) {
      const n = nonce(key.salt, key.nextCounter());
      seen.add(hex(n));
    }
  }
  assertEquals(seen.size, 2 * 2 ** 20);
});

Deno.test("a frame decrypts; one flipped bit in a header field or the ciphertext is rejected", async () => {
  const key = await SenderKey.fresh(3);
  const h = header({ keyId: 3 });
  const plain = bytes("a VP9 key frame");
  const sealed = await encryptFrame(key, h, plain);
  assertEquals(await decryptFrame(key, h, sealed), plain);
  assert(!hex(sealed).includes(hex(plain)), "the plaintext is not in the payload");
  for (
    const changed of [
      { senderSession: 43n },
      { mediaType: 2 },
      { sequence: 8n },
      { key: false },
      { layer: 1 },
    ] as Partial<FrameHeader>[]
  ) {
    assertEquals(
      await decryptFrame(key, { ...h, ...changed }, sealed),
      undefined,
      JSON.stringify(changed, (_, v) => typeof v === "bigint" ? String(v) : v),
    );
  }
  for (let bit = 0; bit < sealed.length * 8; bit += 37) {
    const t = sealed.slice();
    t[bit >> 3] ^= 1 << (bit & 7);
    assertEquals(await decryptFrame(key, h, t), undefined, `bit ${bit}`);
  }
  // A frame of layer 2 is bound to layer 2: relabelled as the base layer, or as layer 1, it fails.
  const upper = await encryptFrame(key, { ...h, layer: 2 }, plain);
  assertEquals(await decryptFrame(key, { ...h, layer: 2 }, upper), plain);
  assertEquals(await decryptFrame(key, h, upper), undefined);
  assertEquals(await decryptFrame(key, { ...h, layer: 1 }, upper), undefined);
  // Two encryptions of the same frame differ (the counter moved on).
  assertNotEquals(hex(await encryptFrame(key, h, plain)), hex(sealed));
});

Deno.test("a keyring keeps a superseded key for the grace period, then refuses it; failures are counted", async () => {
  let now = 0;
  const ring = new Keyring(() => now);
  const k0 = await SenderKey.fresh(0);
  ring.add(42n, k0);
  const old = await encryptFrame(k0, header(), bytes("in flight"));
  const k1 = await SenderKey.fresh(1);
  ring.add(42n, k1);
  now = OLD_KEY_GRACE_MS - 1;
  assertEquals(await ring.decrypt(header(), old), bytes("in flight"));
  now = OLD_KEY_GRACE_MS + 1;
  assertEquals(await ring.decrypt(header(), old), undefined);
  const fresh = await encryptFrame(k1, header({ keyId: 1 }), bytes("after"));
  assertEquals(await ring.decrypt(header({ keyId: 1 }), fresh), bytes("after"));
  assertEquals(await ring.decrypt(header({ keyId: 7 }), fresh), undefined);
  assertEquals(ring.status.get(42n), { ok: 2, failed: 2 });
});

Deno.test("safety codes match for the same members in any order and change with a swapped key or a newcomer", async () => {
  const [a, b, c, mallory] = await Promise.all(
    [0, 1, 2, 3].map(() => Identity.generate()),
  );
  const members = [{ sessionId: 1n, publicKey: a.publicKey }, {
    sessionId: 2n,
    publicKey: b.publicKey,
  }];
  const code = await safetyCode(members);
  assert(/^\d{5}( \d{5}){7}$/.test(code), code);
  assertEquals(await safetyCode([...members].reverse()), code);
  assertNotEquals(
    await safetyCode([members[0], { sessionId: 2n, publicKey: mallory.publicKey }]),
    code,
  );
  assertNotEquals(await safetyCode([...members, { sessionId: 3n, publicKey: c.publicKey }]), code);
});
