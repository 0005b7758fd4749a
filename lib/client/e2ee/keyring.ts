/**
 * A receiver's keys, per sender and key id. When a newer key of a sender arrives, the older ones
 * are kept for a few seconds (frames still in flight) and then forgotten — after a rekey, a
 * removed participant's old key stops working for everyone too. Frames that fail to
 * authenticate are counted per sender and dropped, never handed on.
 *
 * @module
 */
import { decryptFrame, type FrameHeader } from "./frame_cipher.ts";
import type { SenderKey } from "./sender_key.ts";

/** How long a superseded key still decrypts, in milliseconds. */
export const OLD_KEY_GRACE_MS = 5000;

interface Held {
  key: SenderKey;
  /** When it stops being accepted (Infinity while it is the newest). */
  until: number;
}

/** Per-sender figures. */
export interface SenderStatus {
  /** Frames decrypted. */
  ok: number;
  /** Frames that did not authenticate, or named a key we do not have. */
  failed: number;
}

/** Every sender's keys, on the receiving side. */
export class Keyring {
  readonly #keys = new Map<bigint, Held[]>();
  /** The highest key id ever added per sender (kept after the keys expire). */
  readonly #highest = new Map<bigint, number>();
  readonly status = new Map<bigint, SenderStatus>();

  constructor(readonly now: () => number = () => performance.now()) {}

  /**
   * Adds `key` for `sender` if it is newer than every key seen from them (key ids only go up:
   * a replayed old key packet cannot bring a retired key back); older keys now expire after the
   * grace period. Returns whether it was added.
   */
  add(sender: bigint, key: SenderKey): boolean {
    const now = this.now();
    const held = (this.#keys.get(sender) ?? []).filter((h) => h.until > now);
    if ((this.#highest.get(sender) ?? -1) >= key.keyId) return false;
    this.#highest.set(sender, key.keyId);
    const until = now + OLD_KEY_GRACE_MS;
    for (const h of held) h.until = Math.min(h.until, until);
    held.push({ key, until: Infinity });
    this.#keys.set(sender, held);
    return true;
  }

  /** The newest key of `sender`, if any. */
  newest(sender: bigint): SenderKey | undefined {
    return this.#keys.get(sender)?.at(-1)?.key;
  }

  /** The keys held for `sender` that still decrypt, oldest first. */
  keys(sender: bigint): SenderKey[] {
    const now = this.now();
    return (this.#keys.get(sender) ?? []).filter((h) => h.until > now).map((h) => h.key);
  }

  /** Whether a key is held for `sender` (any id). */
  has(sender: bigint): boolean {
    return (this.#keys.get(sender)?.length ?? 0) > 0;
  }

  /** Forgets a sender who left. */
  remove(sender: bigint): void {
    this.#keys.delete(sender);
    this.#highest.delete(sender);
    this.status.delete(sender);
  }

  /** Decrypts a frame of `header.senderSession`; undefined (and counted) when it cannot. */
  async decrypt(
    header: FrameHeader,
    payload: Uint8Array<ArrayBuffer>,
  ): Promise<Uint8Array<ArrayBuffer> | undefined> {
    const now = this.now();
    const held = (this.#keys.get(header.senderSession) ?? []).filter((h) => h.until > now);
    this.#keys.set(header.senderSession, held);
    const key = held.find((h) => h.key.keyId === header.keyId)?.key;
    const plain = key === undefined ? undefined : await decryptFrame(key, header, payload);
    let status = this.status.get(header.senderSession);
    if (status === undefined) {
      status = { ok: 0, failed: 0 };
      this.status.set(header.senderSession, status);
    }
    if (plain === undefined) status.failed++;
    else status.ok++;
    return plain;
  }
}
