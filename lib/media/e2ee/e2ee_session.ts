/**
 * One participant's end-to-end encryption: its identity, its media key, everyone else's keys,
 * and the rules that move keys on.
 *
 * - On connecting, announce the identity (public key). Whoever learns a new identity announces
 *   theirs back once, so both sides can derive their pairwise wrapping key.
 * - Someone joins: after a short debounce (a burst of joins costs one step) the sender ratchets
 *   its key (HKDF, key id + 1) and gives the newcomer only the ratcheted key — they cannot read
 *   what was sent before. Everyone else derives the ratcheted key themselves when the first
 *   frame under it arrives.
 * - Someone leaves or is removed: after a short debounce every sender makes a fresh random key
 *   (a new generation) and sends it to each remaining member — the leaver cannot read on.
 *   Receivers keep superseded keys for a few seconds for frames in flight.
 *
 * Key ids: generation in the high 16 bits, ratchet steps in the low 16.
 *
 * @module
 */
import { E2eeKind, type E2eePacket } from "../../protocol/packets.ts";
import { encryptFrame, type FrameHeader } from "./frame_cipher.ts";
import { Identity, unwrapKey, wrapKey } from "./identity.ts";
import { Keyring } from "./keyring.ts";
import { safetyCode } from "./safety_code.ts";
import { SenderKey } from "./sender_key.ts";

/** Joins within this window share one ratchet step. */
export const JOIN_DEBOUNCE_MS = 100;
/** Leaves within this window share one new key. */
export const LEAVE_DEBOUNCE_MS = 300;
/** Most ratchet steps a receiver takes on its own to catch up with a sender. */
const MAX_CATCH_UP = 64;

interface PeerKeys {
  publicKey: Uint8Array<ArrayBuffer>;
  wrapping: CryptoKey;
}

/** What the session needs from the call. */
export interface E2eeSessionOptions {
  /** Sends a key packet (reliably) to the room. */
  send: (packet: E2eePacket) => void;
  /** Told when the members or keys change (safety code, lock icons). */
  changed?: () => void;
  /**
   * Told after newcomers got our ratcheted key: they can read nothing sent before it, so a key
   * frame now saves them waiting for the next one.
   */
  welcomed?: () => void;
}

/** The E2EE state of one participant. */
export class E2eeSession {
  readonly keyring = new Keyring();
  #identity: Identity | undefined;
  #mySession = 0n;
  #myKey: SenderKey | undefined;
  readonly #peers = new Map<bigint, PeerKeys>();
  /** Key packets that came before their sender's identity. */
  readonly #early = new Map<bigint, E2eePacket[]>();
  #newcomers = new Set<bigint>();
  #joinTimer: ReturnType<typeof setTimeout> | undefined;
  #leaveTimer: ReturnType<typeof setTimeout> | undefined;
  #work: Promise<unknown> = Promise.resolve();
  #closed = false;
  /** Frames waiting for their sender's first key of a generation. */
  readonly #waiting = new Map<bigint, (() => void)[]>();

  constructor(readonly options: E2eeSessionOptions) {}

  /** Runs key work one step at a time (ratchets and new keys must not interleave). */
  #serial<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#work.then(step, step);
    this.#work = run.catch(() => {});
    return run;
  }

  /** The current key id (for the header of the next frame), or undefined before start. */
  get keyId(): number | undefined {
    return this.#myKey?.keyId;
  }

  /** Connected as `session`: (re)announce our identity. A new session forgets the old peers. */
  connected(session: bigint): Promise<void> {
    return this.#serial(async () => {
      if (session !== this.#mySession) {
        this.#peers.clear();
        this.#early.clear();
        this.#mySession = session;
      }
      this.#identity ??= await Identity.generate();
      this.#myKey ??= await SenderKey.fresh(1 << 16);
      this.#announce();
    });
  }

  #announce(): void {
    this.options.send({
      kind: E2eeKind.IDENTITY,
      publicKey: this.#identity!.publicKey,
      toSession: 0n,
      keyId: 0,
      wrapped: new Uint8Array(0),
    });
  }

  /** A key packet from `from` (the server-stamped sender session). */
  received(from: bigint, packet: E2eePacket): Promise<void> {
    return this.#serial(async () => {
      if (this.#identity === undefined || from === this.#mySession) return;
      if (packet.kind === E2eeKind.IDENTITY) return await this.#identityOf(from, packet);
      if (packet.kind !== E2eeKind.KEY || packet.toSession !== this.#mySession) return;
      if (!this.#peers.has(from)) {
        const early = this.#early.get(from) ?? [];
        if (early.length < 8) early.push(packet);
        this.#early.set(from, early);
        return;
      }
      await this.#keyFrom(from, packet);
    });
  }

  async #identityOf(from: bigint, packet: E2eePacket): Promise<void> {
    const known = this.#peers.get(from);
    if (known !== undefined && equal(known.publicKey, packet.publicKey)) return;
    let wrapping: CryptoKey;
    try {
      wrapping = await this.#identity!.wrappingKey(
        this.#mySession,
        from,
        new Uint8Array(packet.publicKey),
      );
    } catch {
      return; // Not a valid public key: ignore it.
    }
    this.#peers.set(from, { publicKey: new Uint8Array(packet.publicKey), wrapping });
    // They may not know us yet (they joined after our announcement): say who we are.
    this.#announce();
    this.#newcomers.add(from);
    if (this.#closed) return;
    clearTimeout(this.#joinTimer);
    this.#joinTimer = setTimeout(() => void this.#serial(() => this.#welcome()), JOIN_DEBOUNCE_MS);
    for (const early of this.#early.get(from) ?? []) await this.#keyFrom(from, early);
    this.#early.delete(from);
    this.options.changed?.();
  }

  async #keyFrom(from: bigint, packet: E2eePacket): Promise<void> {
    try {
      const secret = await unwrapKey(
        this.#peers.get(from)!.wrapping,
        new Uint8Array(packet.wrapped),
        {
          from,
          to: this.#mySession,
          keyId: packet.keyId,
        },
      );
      this.keyring.add(from, await SenderKey.fromSecret(packet.keyId, secret));
      for (const wake of this.#waiting.get(from) ?? []) wake();
      this.#waiting.delete(from);
      this.options.changed?.();
    } catch {
      // Tampered with, or not for this identity: ignore it.
    }
  }

  // Newcomers get the ratcheted key: one step for the whole burst.
  async #welcome(): Promise<void> {
    const newcomers = [...this.#newcomers].filter((s) => this.#peers.has(s));
    this.#newcomers.clear();
    if (newcomers.length === 0 || this.#myKey === undefined) return;
    this.#myKey = await this.#myKey.ratchet();
    for (const to of newcomers) await this.#sendKey(to);
    this.options.welcomed?.();
  }

  async #sendKey(to: bigint): Promise<void> {
    const peer = this.#peers.get(to);
    if (peer === undefined || this.#myKey === undefined) return;
    const wrapped = await wrapKey(peer.wrapping, this.#myKey.secret, {
      from: this.#mySession,
      to,
      keyId: this.#myKey.keyId,
    });
    this.options.send({
      kind: E2eeKind.KEY,
      publicKey: new Uint8Array(0),
      toSession: to,
      keyId: this.#myKey.keyId,
      wrapped,
    });
  }

  /** Someone left or was removed: forget them, and soon make a new key for everyone else. */
  left(session: bigint): void {
    if (!this.#peers.delete(session)) return;
    this.keyring.remove(session);
    this.#newcomers.delete(session);
    if (this.#closed) return;
    clearTimeout(this.#leaveTimer);
    this.#leaveTimer = setTimeout(() => void this.#serial(() => this.#rekey()), LEAVE_DEBOUNCE_MS);
    this.options.changed?.();
  }

  async #rekey(): Promise<void> {
    if (this.#myKey === undefined) return;
    const generation = (this.#myKey.keyId >>> 16) + 1;
    this.#myKey = await SenderKey.fresh((generation & 0xffff) << 16);
    for (const to of this.#peers.keys()) await this.#sendKey(to);
  }

  /** Encrypts a payload of ours under the current key (`header.keyId` is filled in). */
  encrypt(
    header: Omit<FrameHeader, "keyId" | "senderSession">,
    plaintext: Uint8Array<ArrayBuffer>,
  ): Promise<{ keyId: number; payload: Uint8Array<ArrayBuffer> }> | undefined {
    const key = this.#myKey;
    if (key === undefined) return undefined;
    const full = { ...header, keyId: key.keyId, senderSession: this.#mySession };
    return encryptFrame(key, full, plaintext).then((payload) => ({ keyId: key.keyId, payload }));
  }

  /**
   * Decrypts someone's payload; undefined (and counted) when it does not authenticate or names
   * a key we do not have. A key a few ratchet steps ahead of ours is derived here. A frame of a
   * key generation we have no key of yet — the sender's key is on its way, as at a join or a
   * rekey — waits up to `waitMs` for it.
   */
  async decrypt(
    header: FrameHeader,
    payload: Uint8Array<ArrayBuffer>,
    waitMs = 0,
  ): Promise<Uint8Array<ArrayBuffer> | undefined> {
    const generation = header.keyId >>> 16;
    const hasGeneration = () =>
      this.keyring.keys(header.senderSession).some((k) => k.keyId >>> 16 === generation);
    if (waitMs > 0 && !this.#closed && !hasGeneration()) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        const list = this.#waiting.get(header.senderSession) ?? [];
        list.push(() => {
          clearTimeout(timer);
          resolve();
        });
        this.#waiting.set(header.senderSession, list);
      });
    }
    const held = this.keyring.keys(header.senderSession);
    if (!held.some((k) => k.keyId === header.keyId)) {
      const base = held.filter((k) =>
        k.keyId >>> 16 === header.keyId >>> 16 && k.keyId < header.keyId &&
        header.keyId - k.keyId <= MAX_CATCH_UP
      ).sort((a, b) =>
        b.keyId - a.keyId
      )[0];
      if (base !== undefined) {
        let key = base;
        while (key.keyId < header.keyId) key = await key.ratchet();
        this.keyring.add(header.senderSession, key);
      }
    }
    return await this.keyring.decrypt(header, payload);
  }

  /**
   * Whether a frame was sent under a key from before we joined (an earlier ratchet step than the
   * first key the sender gave us): we were never meant to read it, so it is no failure.
   */
  predates(header: FrameHeader): boolean {
    return this.keyring.keys(header.senderSession).some((k) =>
      k.keyId >>> 16 === header.keyId >>> 16 && k.keyId > header.keyId
    );
  }

  /** The safety code over everyone's identity, ours included (undefined before start). */
  async safetyCode(): Promise<string | undefined> {
    if (this.#identity === undefined) return undefined;
    const members = [{ sessionId: this.#mySession, publicKey: this.#identity.publicKey }];
    for (const [sessionId, p] of this.#peers) members.push({ sessionId, publicKey: p.publicKey });
    return await safetyCode(members);
  }

  /** Sessions whose identity we know. */
  get members(): bigint[] {
    return [...this.#peers.keys()];
  }

  /** Stops: no more key work is scheduled; waiting frames give up. */
  close(): void {
    this.#closed = true;
    for (const list of this.#waiting.values()) for (const wake of list) wake();
    this.#waiting.clear();
    clearTimeout(this.#joinTimer);
    clearTimeout(this.#leaveTimer);
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
