/**
 * A participant's identity for end-to-end encryption: an ECDH P-256 key pair made per session
 * (WebCrypto, the same in browsers and Deno), and the pairwise wrapping key two participants
 * share — ECDH, then HKDF-SHA-256 bound to both session ids — under which each sends the other
 * its media key (AES-GCM, so a wrapped key that was tampered with does not unwrap).
 *
 * @module
 */

const encoder = new TextEncoder();

/** Salt of every HKDF in the key schedule (a version label: change it to change the scheme). */
export const KDF_SALT: Uint8Array<ArrayBuffer> = encoder.encode("videocall.ts e2ee v1");

/** One session's key pair. */
export class Identity {
  private constructor(
    readonly keyPair: CryptoKeyPair,
    /** The public key, uncompressed (65 bytes), as it is sent to the others. */
    readonly publicKey: Uint8Array<ArrayBuffer>,
  ) {}

  /** Makes a fresh key pair (the private key cannot be exported). */
  static async generate(): Promise<Identity> {
    const keyPair = await crypto.subtle.generateKey(
      { name: "ECDH", namedCurve: "P-256" },
      false,
      ["deriveBits"],
    ) as CryptoKeyPair;
    const raw = new Uint8Array(await crypto.subtle.exportKey("raw", keyPair.publicKey));
    return new Identity(keyPair, raw);
  }

  /**
   * The key that wraps media keys between this session and `peerSession`: ECDH with the peer's
   * public key, then HKDF-SHA-256 over the two session ids (in order, so both sides agree).
   * Throws if `peerPublicKey` is not a valid P-256 point.
   */
  async wrappingKey(
    mySession: bigint,
    peerSession: bigint,
    peerPublicKey: Uint8Array<ArrayBuffer>,
  ): Promise<CryptoKey> {
    const peer = await crypto.subtle.importKey(
      "raw",
      peerPublicKey,
      { name: "ECDH", namedCurve: "P-256" },
      false,
      [],
    );
    const shared = await crypto.subtle.deriveBits(
      { name: "ECDH", public: peer },
      this.keyPair.privateKey,
      256,
    );
    const [a, b] = mySession < peerSession ? [mySession, peerSession] : [peerSession, mySession];
    const material = await crypto.subtle.importKey("raw", shared, "HKDF", false, ["deriveKey"]);
    return await crypto.subtle.deriveKey(
      { name: "HKDF", hash: "SHA-256", salt: KDF_SALT, info: encoder.encode(`wrap ${a} ${b}`) },
      material,
      { name: "AES-GCM", length: 256 },
      false,
      ["encrypt", "decrypt"],
    );
  }
}

/**
 * Wraps `secret` (a media key and its salt) for one peer. The additional data names sender,
 * receiver and key id, so a wrapped key cannot be replayed to someone else or as another key.
 */
export async function wrapKey(
  wrappingKey: CryptoKey,
  secret: Uint8Array<ArrayBuffer>,
  context: { from: bigint; to: bigint; keyId: number },
): Promise<Uint8Array<ArrayBuffer>> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: wrapContext(context) },
    wrappingKey,
    secret,
  );
  const out = new Uint8Array(12 + sealed.byteLength);
  out.set(iv);
  out.set(new Uint8Array(sealed), 12);
  return out;
}

/** Unwraps a key from {@linkcode wrapKey}; throws if it was tampered with or is not for us. */
export async function unwrapKey(
  wrappingKey: CryptoKey,
  wrapped: Uint8Array<ArrayBuffer>,
  context: { from: bigint; to: bigint; keyId: number },
): Promise<Uint8Array<ArrayBuffer>> {
  if (wrapped.length < 12 + 16) throw new Error("A wrapped key is too short");
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: wrapped.subarray(0, 12), additionalData: wrapContext(context) },
    wrappingKey,
    wrapped.subarray(12),
  );
  return new Uint8Array(plain);
}

function wrapContext(c: { from: bigint; to: bigint; keyId: number }): Uint8Array<ArrayBuffer> {
  return encoder.encode(`key ${c.from} ${c.to} ${c.keyId}`);
}
