/**
 * One participant's end-to-end encryption: its identity, its media key, everyone else's keys,
 * and the rules that move keys on.
 *
 * - On connecting, announce the identity (public key). Whoever learns a new identity announces
 *   theirs back once, so both sides can derive their pairwise wrapping key. Identities are taken
 *   only from sessions the server lists in the meeting (`isMember`), so a relay cannot add a
 *   member no one sees — the safety code covers exactly the people on screen.
 * - Someone joins: after a short debounce (a burst of joins costs one step; at most 1 s) the
 *   sender ratchets its key (HKDF, key id + 1) and gives the newcomer only the ratcheted key —
 *   they cannot read what was sent before. Everyone else derives the ratcheted key themselves
 *   when the first frame under it arrives (and keeps it only if that frame authenticates).
 * - Someone leaves or is removed, or we reconnect (someone may have left meanwhile): after a
 *   short debounce every sender makes a fresh random key (a new generation) and sends it to each
 *   remaining member — a leaver cannot read on. Receivers keep superseded keys for a few seconds
 *   for frames in flight. Key ids only go up: an old key packet replayed later is ignored.
 *
 * Key ids: generation in the high 16 bits, ratchet steps in the low 16.
 *
 * @module
 */
import { E2eeKind, type E2eePacket } from "../../protocol/packets.ts";
import { decryptFrame, encryptFrame, type FrameHeader } from "./frame_cipher.ts";
import { Identity, unwrapKey, wrapKey } from "./identity.ts";
import { Keyring } from "./keyring.ts";
import { safetyCode } from "./safety_code.ts";
import { SenderKey } from "./sender_key.ts";

/** Joins within this window share one ratchet step. */
export const JOIN_DEBOUNCE_MS = 100;
/** Leaves within this window share one new key. */
export const LEAVE_DEBOUNCE_MS = 100;
/** However many events keep coming, a welcome or rekey happens this soon after the first. */
export const DEBOUNCE_DEADLINE_MS = 1000;
/** Most ratchet steps a receiver takes on its own to catch up with a sender. */
const MAX_CATCH_UP = 16;
/** Frames held per sender while their key is on its way. */
const MAX_WAITING = 200;
/** Identities of sessions the roster does not list yet, held at most. */
const MAX_PENDING_IDENTITIES = 64;
/** A peer that announces itself again gets our current key at most this often. */
const RESEND_INTERVAL_MS = 2000;

interface PeerKeys {
  publicKey: Uint8Array<ArrayBuffer>;
  wrapping: CryptoKey;
  lastResend: number;
}

/** What the session needs from the call. */
export interface E2eeSessionOptions {
  /** Sends a key packet (reliably) to the room. */
  send: (packet: E2eePacket) => void;
  /** Whether the server lists `session` in the meeting now. */
  isMember: (session: bigint) => boolean;
  /** Told when the members or keys change (safety code, lock icons). */
  changed?: () => void;
  /**
   * Told after newcomers or remaining members got a new key of ours: nothing before it can be
   * read with it, so a key frame now saves them waiting for the next one.
   */
  newKey?: () => void;
  /** Told when someone already known presents a different identity key (warn the user). */
  keyChanged?: (session: bigint) => void;
}

/** A debounced action with a deadline. */
class Debounce {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #first = 0;
  constructor(readonly waitMs: number, readonly run: () => void) {}
  poke(): void {
    const now = performance.now();
    if (this.#timer === undefined) this.#first = now;
    clearTimeout(this.#timer);
    const at = Math.min(now + this.waitMs, this.#first + DEBOUNCE_DEADLINE_MS);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.run();
    }, Math.max(0, at - now));
  }
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
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
  /** Identities of sessions the roster does not list yet. */
  readonly #pendingIdentities = new Map<bigint, E2eePacket>();
  /** Frames waiting for their sender's key. */
  readonly #waiting = new Map<bigint, Set<() => void>>();
  /** Sessions whose identity key changed while we knew them. */
  readonly keyChanges = new Set<bigint>();
  #newcomers = new Set<bigint>();
  readonly #welcome: Debounce;
  readonly #rekey: Debounce;
  #work: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(readonly options: E2eeSessionOptions) {
    this.#welcome = new Debounce(
      JOIN_DEBOUNCE_MS,
      () => void this.#serial(() => this.#doWelcome()),
    );
    this.#rekey = new Debounce(LEAVE_DEBOUNCE_MS, () => void this.#serial(() => this.#doRekey()));
  }

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

  /**
   * Connected as `session`. A new session forgets the old peers; a resumed one keeps them but
   * makes a fresh key anyway (someone may have left while we were away). Announces our identity.
   */
  connected(session: bigint): Promise<void> {
    return this.#serial(async () => {
      const first = this.#identity === undefined;
      this.#identity ??= await Identity.generate();
      if (session !== this.#mySession) {
        this.#peers.clear();
        this.#early.clear();
        this.#pendingIdentities.clear();
        this.#mySession = session;
      }
      this.#myKey = first || this.#myKey === undefined
        ? await SenderKey.fresh(1 << 16)
        : await SenderKey.fresh(nextGeneration(this.#myKey.keyId));
      this.#announce();
      if (!first) { for (const to of this.#members()) await this.#sendKey(to); }
    });
  }

  /** Says who we are again (after a waiting room let us in: nobody heard us before). */
  announce(): void {
    void this.#serial(() => Promise.resolve(this.#announce()));
  }

  #announce(): void {
    if (this.#identity === undefined) return;
    this.options.send({
      kind: E2eeKind.IDENTITY,
      publicKey: this.#identity.publicKey,
      toSession: 0n,
      keyId: 0,
      wrapped: new Uint8Array(0),
    });
  }

  #members(): bigint[] {
    return [...this.#peers.keys()].filter((s) => this.options.isMember(s));
  }

  /** The server listed `session` in the meeting: take the identity it sent before, if any. */
  memberJoined(session: bigint): void {
    const pending = this.#pendingIdentities.get(session);
    if (pending === undefined) return;
    this.#pendingIdentities.delete(session);
    void this.received(session, pending);
  }

  /** A key packet from `from` (the server-stamped sender session). */
  received(from: bigint, packet: E2eePacket): Promise<void> {
    return this.#serial(async () => {
      if (this.#identity === undefined || from === this.#mySession || this.#closed) return;
      if (packet.kind === E2eeKind.IDENTITY) {
        if (!this.options.isMember(from)) {
          if (this.#pendingIdentities.size < MAX_PENDING_IDENTITIES) {
            this.#pendingIdentities.set(from, packet);
          }
          return;
        }
        return await this.#identityOf(from, packet);
      }
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
    if (known !== undefined && equal(known.publicKey, packet.publicKey)) {
      // They announced again (a resume, or an admission): they may have missed our last key.
      const now = performance.now();
      if (now - known.lastResend >= RESEND_INTERVAL_MS) {
        known.lastResend = now;
        await this.#sendKey(from);
      }
      return;
    }
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
    if (known !== undefined) {
      this.keyChanges.add(from);
      this.keyring.remove(from);
      this.options.keyChanged?.(from);
    }
    this.#peers.set(from, {
      publicKey: new Uint8Array(packet.publicKey),
      wrapping,
      lastResend: performance.now(),
    });
    // They may not know us yet (they joined after our announcement): say who we are.
    this.#announce();
    this.#newcomers.add(from);
    if (!this.#closed) this.#welcome.poke();
    for (const early of this.#early.get(from) ?? []) await this.#keyFrom(from, early);
    this.#early.delete(from);
    this.options.changed?.();
  }

  async #keyFrom(from: bigint, packet: E2eePacket): Promise<void> {
    let secret: Uint8Array<ArrayBuffer>;
    try {
      secret = await unwrapKey(this.#peers.get(from)!.wrapping, new Uint8Array(packet.wrapped), {
        from,
        to: this.#mySession,
        keyId: packet.keyId,
      });
    } catch {
      return; // Tampered with, or not for this identity: ignore it.
    }
    if (!this.keyring.add(from, await SenderKey.fromSecret(packet.keyId, secret))) return;
    for (const wake of this.#waiting.get(from) ?? []) wake();
    this.#waiting.delete(from);
    this.options.changed?.();
  }

  // Newcomers get the ratcheted key: one step for the whole burst.
  async #doWelcome(): Promise<void> {
    const newcomers = [...this.#newcomers].filter((s) => this.#peers.has(s));
    this.#newcomers.clear();
    if (newcomers.length === 0 || this.#myKey === undefined || this.#closed) return;
    // The low 16 bits count steps; a key that used them all starts a new generation instead.
    this.#myKey = (this.#myKey.keyId & 0xffff) === 0xffff
      ? await SenderKey.fresh(nextGeneration(this.#myKey.keyId))
      : await this.#myKey.ratchet();
    const everyone = (this.#myKey.keyId & 0xffff) === 0;
    for (const to of everyone ? this.#members() : newcomers) await this.#sendKey(to);
    this.options.newKey?.();
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
    this.#pendingIdentities.delete(session);
    this.#early.delete(session);
    for (const wake of this.#waiting.get(session) ?? []) wake();
    this.#waiting.delete(session);
    if (!this.#peers.delete(session)) return;
    this.keyring.remove(session);
    this.#newcomers.delete(session);
    if (!this.#closed) this.#rekey.poke();
    this.options.changed?.();
  }

  async #doRekey(): Promise<void> {
    if (this.#myKey === undefined || this.#closed) return;
    this.#myKey = await SenderKey.fresh(nextGeneration(this.#myKey.keyId));
    for (const to of this.#members()) await this.#sendKey(to);
    this.options.newKey?.();
  }

  /**
   * Encrypts a payload of ours under the current key, as session `sender` (the call's current
   * session id). Undefined before the first key exists.
   */
  encrypt(
    header: Omit<FrameHeader, "keyId" | "senderSession">,
    plaintext: Uint8Array<ArrayBuffer>,
    sender: bigint,
  ): Promise<{ keyId: number; payload: Uint8Array<ArrayBuffer> }> | undefined {
    const key = this.#myKey;
    if (key === undefined) return undefined;
    const full = { ...header, keyId: key.keyId, senderSession: sender };
    return encryptFrame(key, full, plaintext).then((payload) => ({ keyId: key.keyId, payload }));
  }

  /**
   * Decrypts someone's payload; undefined (and counted) when it does not authenticate or names
   * a key we do not have. A key a few ratchet steps ahead of the sender's newest is derived
   * and kept only if this frame authenticates under it. A frame of a generation we hold no
   * key of yet waits up to `waitMs` for the key (keys and frames race at a join or rekey).
   */
  async decrypt(
    header: FrameHeader,
    payload: Uint8Array<ArrayBuffer>,
    waitMs = 0,
  ): Promise<Uint8Array<ArrayBuffer> | undefined> {
    const sender = header.senderSession;
    const generation = header.keyId >>> 16;
    const hasGeneration = () =>
      this.keyring.keys(sender).some((k) => k.keyId >>> 16 === generation);
    if (waitMs > 0 && !this.#closed && !hasGeneration()) {
      const waiting = this.#waiting.get(sender) ?? new Set();
      if (waiting.size < MAX_WAITING) {
        this.#waiting.set(sender, waiting);
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(timer);
            waiting.delete(wake);
            resolve();
          };
          const timer = setTimeout(wake, waitMs);
          waiting.add(wake);
        });
      }
    }
    const newest = this.keyring.newest(sender);
    if (
      newest !== undefined && newest.keyId >>> 16 === generation && newest.keyId < header.keyId &&
      header.keyId - newest.keyId <= MAX_CATCH_UP &&
      !this.keyring.keys(sender).some((k) => k.keyId === header.keyId)
    ) {
      let key = newest;
      while (key.keyId < header.keyId) key = await key.ratchet();
      const plain = await decryptFrame(key, header, payload);
      if (plain !== undefined) this.keyring.add(sender, key);
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
    for (const sessionId of this.#members()) {
      members.push({ sessionId, publicKey: this.#peers.get(sessionId)!.publicKey });
    }
    return await safetyCode(members);
  }

  /** Sessions whose identity we know and the server lists. */
  get members(): bigint[] {
    return this.#members();
  }

  /** Stops: no more key work is scheduled; waiting frames give up. */
  close(): void {
    this.#closed = true;
    this.#welcome.cancel();
    this.#rekey.cancel();
    for (const list of this.#waiting.values()) for (const wake of [...list]) wake();
    this.#waiting.clear();
  }
}

/** The first key id of the generation after `keyId`'s (16 bits, 0 skipped). */
function nextGeneration(keyId: number): number {
  const g = ((keyId >>> 16) + 1) & 0xffff;
  return (g === 0 ? 1 : g) * 0x10000;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
