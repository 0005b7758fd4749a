/**
 * A sender's media key: AES-GCM-128 with a 12-byte salt and a key id. Frames are encrypted
 * under nonce = salt XOR the frame counter (64 bits, never reused: the counter only goes up,
 * and a new key — fresh or ratcheted — has a new salt). The ratchet derives the next key from
 * the current one with HKDF, so someone given the new key cannot compute the old one.
 *
 * @module
 */
import { KDF_SALT } from "./identity.ts";

const encoder = new TextEncoder();

/** Bytes of key material: 16 for AES-128, then 12 of salt. */
export const SECRET_BYTES = 16 + 12;
/** The counter may not pass this (2^48 frames: ~300,000 years at 30 fps). */
export const MAX_COUNTER = 2n ** 48n;

/** One key of one sender. */
export class SenderKey {
  #counter = 0n;

  private constructor(
    readonly keyId: number,
    /** Key (16 bytes) then salt (12 bytes): what is wrapped and sent to each peer. */
    readonly secret: Uint8Array<ArrayBuffer>,
    readonly key: CryptoKey,
  ) {}

  /** The salt XORed into every nonce. */
  get salt(): Uint8Array {
    return this.secret.subarray(16);
  }

  /** A random key. */
  static fresh(keyId: number): Promise<SenderKey> {
    return SenderKey.fromSecret(keyId, crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
  }

  /** The key a peer unwrapped. */
  static async fromSecret(keyId: number, secret: Uint8Array<ArrayBuffer>): Promise<SenderKey> {
    if (secret.length !== SECRET_BYTES) {
      throw new Error(`A sender key has ${SECRET_BYTES} bytes, not ${secret.length}`);
    }
    const key = await crypto.subtle.importKey(
      "raw",
      secret.subarray(0, 16),
      "AES-GCM",
      false,
      ["encrypt", "decrypt"],
    );
    return new SenderKey(keyId >>> 0, secret, key);
  }

  /** The next key in the ratchet (key id + 1): what a newcomer is given. */
  async ratchet(): Promise<SenderKey> {
    const material = await crypto.subtle.importKey("raw", this.secret, "HKDF", false, [
      "deriveBits",
    ]);
    const next = await crypto.subtle.deriveBits(
      { name: "HKDF", hash: "SHA-256", salt: KDF_SALT, info: encoder.encode("ratchet") },
      material,
      SECRET_BYTES * 8,
    );
    return SenderKey.fromSecret((this.keyId + 1) >>> 0, new Uint8Array(next));
  }

  /** The next frame counter (throws when the key is used up: make a new one). */
  nextCounter(): bigint {
    if (this.#counter >= MAX_COUNTER) throw new Error("This key is used up; make a new one");
    return this.#counter++;
  }
}

/** The 12-byte nonce for `counter` under `salt`: salt XOR (4 zero bytes ‖ counter, big-endian). */
export function nonce(salt: Uint8Array, counter: bigint): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(12);
  out.set(salt.subarray(0, 12));
  const view = new DataView(out.buffer);
  view.setBigUint64(4, view.getBigUint64(4) ^ counter);
  return out;
}
