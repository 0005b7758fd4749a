/**
 * Encrypting one media frame (or heartbeat, or chat message). The relay must still read the
 * routing fields, so they stay in clear — and are bound as AES-GCM additional data: sender
 * session, media type, key id, sequence number, key/delta flag and simulcast layer. Changing any
 * of them, or one bit of the ciphertext, makes decryption fail.
 *
 * Wire form of an encrypted payload: counter (8 bytes, big-endian) ‖ ciphertext ‖ tag (16).
 *
 * @module
 */
import { nonce, type SenderKey } from "./sender_key.ts";

/** The clear fields a frame is bound to. */
export interface FrameHeader {
  senderSession: bigint;
  mediaType: number;
  keyId: number;
  sequence: bigint;
  key: boolean;
  /** The simulcast layer (the wrapper's clear `simulcast_layer_id`; 0 when absent). */
  layer?: number;
}

/** Bytes added to every payload (counter and tag). */
export const OVERHEAD_BYTES = 8 + 16;

const isByte = (n: number) => Number.isInteger(n) && n >= 0 && n <= 0xff;
const isUint64 = (n: bigint) => n >= 0n && n < 1n << 64n;

/**
 * Whether every field of `header` fits the bytes {@linkcode additionalData} binds it in. One that
 * does not would be truncated — layer 257 bound as layer 1 — so a relay could change it.
 */
function bindable(header: FrameHeader): boolean {
  return isByte(header.mediaType) && isByte(header.layer ?? 0) && Number.isInteger(header.keyId) &&
    header.keyId >= 0 && header.keyId <= 0xffffffff && isUint64(header.sequence) &&
    isUint64(header.senderSession);
}

/**
 * The additional data for `header`: 22 bytes, and a 23rd with the layer when it is not the base
 * (so base-layer frames are bound exactly as before simulcast, and older clients still read them).
 * Throws a RangeError for a field outside the range it is bound in (a media type or layer above
 * 255, say).
 */
export function additionalData(header: FrameHeader): Uint8Array<ArrayBuffer> {
  if (!bindable(header)) {
    throw new RangeError("A frame header field is out of the range its additional data binds");
  }
  const layer = header.layer ?? 0;
  const out = new Uint8Array(layer === 0 ? 22 : 23);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, header.senderSession);
  out[8] = header.mediaType;
  view.setUint32(9, header.keyId);
  view.setBigUint64(13, header.sequence);
  out[21] = header.key ? 1 : 0;
  if (layer !== 0) out[22] = layer;
  return out;
}

/** Encrypts `plaintext` under `key`, bound to `header` (whose keyId must be the key's). */
export async function encryptFrame(
  key: SenderKey,
  header: FrameHeader,
  plaintext: Uint8Array<ArrayBuffer>,
): Promise<Uint8Array<ArrayBuffer>> {
  if (header.keyId !== key.keyId) throw new Error("The header names another key");
  const counter = key.nextCounter();
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: nonce(key.salt, counter), additionalData: additionalData(header) },
    key.key,
    plaintext,
  );
  const out = new Uint8Array(8 + sealed.byteLength);
  new DataView(out.buffer).setBigUint64(0, counter);
  out.set(new Uint8Array(sealed), 8);
  return out;
}

/**
 * Decrypts a payload from {@linkcode encryptFrame}; undefined when it does not authenticate (a
 * header no frame could have been sealed under, too).
 */
export async function decryptFrame(
  key: SenderKey,
  header: FrameHeader,
  payload: Uint8Array<ArrayBuffer>,
): Promise<Uint8Array<ArrayBuffer> | undefined> {
  if (payload.length < OVERHEAD_BYTES || header.keyId !== key.keyId || !bindable(header)) {
    return undefined;
  }
  const counter = new DataView(payload.buffer, payload.byteOffset, 8).getBigUint64(0);
  try {
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: nonce(key.salt, counter), additionalData: additionalData(header) },
      key.key,
      payload.subarray(8),
    );
    return new Uint8Array(plain);
  } catch {
    return undefined;
  }
}
