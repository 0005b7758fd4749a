/**
 * Certificates for the WebTransport (QUIC) server.
 *
 * Chromium accepts a self-signed certificate only through `serverCertificateHashes`, and only an
 * ECDSA P-256 certificate whose validity (notBefore to notAfter) spans at most 14 days. So in
 * development the server makes its own with {@linkcode generateCertificate}, renews it before it
 * expires and tells pages its SHA-256 hash; in production {@linkcode CertificateManager} loads
 * `CERT_PATH`/`KEY_PATH` and reloads them when they change.
 *
 * @example
 * ```ts
 * import { CertificateManager } from "./certificate.ts";
 *
 * const manager = new CertificateManager({ onChange: (cert) => console.log(cert.notAfter) });
 * await manager.start();
 * const { certPem, keyPem } = manager.current();
 * if (!certPem.startsWith("-----BEGIN CERTIFICATE-----") || !keyPem) throw new Error("no cert");
 * if (manager.hashes().length !== 1) throw new Error("expected one hash");
 * await manager.stop();
 * ```
 *
 * @module
 */
import {
  decodeChildren,
  decodeElement,
  decodeTime,
  DER_TAG,
  DerError,
  encodeBitString,
  encodeBoolean,
  encodeExplicit,
  encodeImplicit,
  encodeInteger,
  encodeOctetString,
  encodeOid,
  encodeSequence,
  encodeSet,
  encodeTime,
  encodeUnsignedInteger,
  encodeUtf8String,
} from "./der.ts";
import { createLogger } from "../log.ts";

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

/** Chromium's limit on a hashed certificate's validity span (notAfter − notBefore). */
export const MAX_CERTIFICATE_VALIDITY_MS = 14 * DAY_MS;
/** Default validity span of a generated certificate: a day under Chromium's limit. */
export const DEFAULT_CERTIFICATE_VALIDITY_MS = 13 * DAY_MS;
/** Default time notBefore lies in the past, so clients with a slow clock accept the certificate. */
export const DEFAULT_CERTIFICATE_BACKDATE_MS = HOUR_MS;
/** Default names a generated certificate is valid for. */
export const DEFAULT_CERTIFICATE_HOSTNAMES: readonly string[] = ["localhost", "127.0.0.1", "::1"];
/** Subject and issuer common name of a generated certificate. */
export const CERTIFICATE_COMMON_NAME = "videocall.ts";
/** Default interval between two reads of `CERT_PATH`/`KEY_PATH` in file mode. */
export const DEFAULT_CERTIFICATE_POLL_INTERVAL_MS = 5000;
/** Largest PEM text the parser accepts; a certificate chain is a few kilobytes. */
export const MAX_PEM_CHARS = 1024 * 1024;

const OID = {
  ecPublicKey: "1.2.840.10045.2.1",
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  commonName: "2.5.4.3",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  serverAuth: "1.3.6.1.5.5.7.3.1",
} as const;

/** Options of {@linkcode generateCertificate}. */
export interface GenerateCertificateOptions {
  /**
   * DNS names and IP addresses (v4 or v6) the certificate is valid for.
   * @default {["localhost", "127.0.0.1", "::1"]}
   */
  hostnames?: readonly string[];
  /**
   * Span from notBefore to notAfter, backdating included; at most 14 days.
   * @default {13 days}
   */
  validityMs?: number;
  /**
   * How far notBefore lies before `now`, for clients whose clock is behind. Must be less than
   * `validityMs`.
   * @default {1 hour}
   */
  backdateMs?: number;
  /**
   * The current time in milliseconds since the epoch.
   * @default {Date.now()}
   */
  now?: number;
}

/** A generated certificate, its private key and its hash. */
export interface GeneratedCertificate {
  /** The certificate, PEM "CERTIFICATE". */
  certPem: string;
  /** The private key, PEM PKCS#8 "PRIVATE KEY". */
  keyPem: string;
  /** The certificate in DER. */
  der: Uint8Array;
  /** SHA-256 of {@linkcode GeneratedCertificate.der}, for `serverCertificateHashes`. */
  sha256: Uint8Array;
  /** {@linkcode GeneratedCertificate.sha256} in base64, for sending to pages. */
  sha256Base64: string;
  /** Start of validity (whole seconds). */
  notBefore: Date;
  /** End of validity (whole seconds). */
  notAfter: Date;
}

/**
 * Makes an ECDSA P-256 key pair and a self-signed X.509 v3 certificate for it, signed with
 * ecdsa-with-SHA256: subject and issuer CN=videocall.ts, a random positive serial, the
 * hostnames as subjectAltName, basicConstraints CA:FALSE, keyUsage digitalSignature (critical)
 * and extendedKeyUsage serverAuth. Throws when the validity is not within (0, 14 days], when
 * the backdate is not shorter than the validity, or when a hostname is neither a DNS name nor an
 * IP address.
 *
 * @example
 * ```ts
 * import { generateCertificate } from "./certificate.ts";
 *
 * const cert = await generateCertificate({ hostnames: ["localhost"], now: Date.UTC(2030, 0, 1) });
 * if (cert.notBefore.toISOString() !== "2029-12-31T23:00:00.000Z") throw new Error("notBefore");
 * if (cert.notAfter.getTime() - cert.notBefore.getTime() !== 13 * 86_400_000) {
 *   throw new Error("validity");
 * }
 * if (cert.sha256.length !== 32 || !cert.keyPem.includes("BEGIN PRIVATE KEY")) throw new Error();
 * ```
 */
export async function generateCertificate(
  options: GenerateCertificateOptions = {},
): Promise<GeneratedCertificate> {
  const validityMs = options.validityMs ?? DEFAULT_CERTIFICATE_VALIDITY_MS;
  const backdateMs = options.backdateMs ?? DEFAULT_CERTIFICATE_BACKDATE_MS;
  const now = options.now ?? Date.now();
  checkValidity(validityMs, backdateMs);
  if (!Number.isFinite(now)) throw new Error(`Invalid certificate time "${now}"`);
  const altNames = encodeSubjectAltNames(options.hostnames ?? DEFAULT_CERTIFICATE_HOSTNAMES);

  // UTCTime holds whole seconds: round notBefore down so the span never grows past validityMs.
  const notBefore = new Date(Math.floor((now - backdateMs) / 1000) * 1000);
  const notAfter = new Date(Math.floor((notBefore.getTime() + validityMs) / 1000) * 1000);

  const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));

  const name = encodeSequence(
    encodeSet(encodeSequence(encodeOid(OID.commonName), encodeUtf8String(CERTIFICATE_COMMON_NAME))),
  );
  const signatureAlgorithm = encodeSequence(encodeOid(OID.ecdsaWithSha256));
  const tbs = encodeSequence(
    encodeExplicit(0, encodeInteger(2n)), // version v3
    encodeUnsignedInteger(randomSerial()),
    signatureAlgorithm,
    name,
    encodeSequence(encodeTime(notBefore), encodeTime(notAfter)),
    name,
    spki,
    encodeExplicit(
      3,
      encodeSequence(
        encodeExtension(OID.subjectAltName, false, altNames),
        encodeExtension(OID.basicConstraints, true, encodeSequence()),
        encodeExtension(OID.keyUsage, true, encodeBitString(Uint8Array.of(0x80), 7)),
        encodeExtension(OID.extKeyUsage, false, encodeSequence(encodeOid(OID.serverAuth))),
      ),
    ),
  );
  const rawSignature = new Uint8Array(
    await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, keys.privateKey, tbs),
  );
  const der = encodeSequence(
    tbs,
    signatureAlgorithm,
    encodeBitString(ecdsaSignatureToDer(rawSignature)),
  );
  const sha256 = await certificateHash(der);
  return {
    certPem: encodePem("CERTIFICATE", der),
    keyPem: encodePem("PRIVATE KEY", pkcs8),
    der,
    sha256,
    sha256Base64: encodeBase64(sha256),
    notBefore,
    notAfter,
  };
}

function checkValidity(validityMs: number, backdateMs: number): void {
  if (!Number.isFinite(validityMs) || validityMs <= 0) {
    throw new Error(`Certificate validity must be positive, got "${validityMs}" ms`);
  }
  if (validityMs > MAX_CERTIFICATE_VALIDITY_MS) {
    throw new Error(
      `Certificate validity must be at most 14 days for Chromium, got "${validityMs}" ms`,
    );
  }
  if (!Number.isFinite(backdateMs) || backdateMs < 0 || backdateMs >= validityMs) {
    throw new Error(
      `Certificate backdate must be at least 0 and less than the validity "${validityMs}" ms, ` +
        `got "${backdateMs}" ms`,
    );
  }
}

/**
 * SHA-256 of a DER certificate: the value Chromium's `serverCertificateHashes` compares.
 *
 * @example
 * ```ts
 * import { certificateHash, generateCertificate } from "./certificate.ts";
 *
 * const cert = await generateCertificate();
 * const hash = await certificateHash(cert.der);
 * if (hash.join() !== cert.sha256.join()) throw new Error("hash mismatch");
 * ```
 */
export async function certificateHash(der: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", Uint8Array.from(der)));
}

/** The validity period of a certificate, or why it could not be read. */
export type CertificateValidityResult =
  | { ok: true; notBefore: Date; notAfter: Date }
  | { ok: false; error: string };

/**
 * Reads notBefore and notAfter of the first certificate in PEM text (a chain is fine). Never
 * throws: garbage, truncated or oversized input gives `{ ok: false, error }`.
 *
 * @example
 * ```ts
 * import { generateCertificate, parseCertificateValidity } from "./certificate.ts";
 *
 * const cert = await generateCertificate();
 * const validity = parseCertificateValidity(cert.certPem);
 * if (!validity.ok || validity.notAfter.getTime() !== cert.notAfter.getTime()) throw new Error();
 * const bad = parseCertificateValidity("not a certificate");
 * if (bad.ok) throw new Error("garbage accepted");
 * ```
 */
export function parseCertificateValidity(pem: string): CertificateValidityResult {
  const fields = parseCertificateFields(pem);
  if (typeof fields === "string") return { ok: false, error: fields };
  return { ok: true, notBefore: fields.notBefore, notAfter: fields.notAfter };
}

interface CertificateFields {
  notBefore: Date;
  notAfter: Date;
  /** The SubjectPublicKeyInfo element, DER. */
  spki: Uint8Array;
}

/** The fields the manager needs from the first certificate in `pem`, or an error message. */
function parseCertificateFields(pem: string): CertificateFields | string {
  const block = decodePem(pem, "CERTIFICATE");
  if (typeof block === "string") return block;
  const der = block.der;
  try {
    const certificate = decodeElement(der);
    if (certificate.tag !== DER_TAG.SEQUENCE || certificate.end !== der.length) {
      return "Certificate is not a single DER SEQUENCE";
    }
    const parts = decodeChildren(certificate);
    if (parts.length !== 3 || parts[0].tag !== DER_TAG.SEQUENCE) {
      return "Certificate does not hold TBSCertificate, algorithm, signature";
    }
    const tbs = decodeChildren(parts[0]);
    // TBSCertificate: [0] version (optional), serial, signature algorithm, issuer, validity,
    // subject, subjectPublicKeyInfo, then optional fields we do not read.
    const first = tbs[0]?.tag === 0xa0 ? 1 : 0;
    const { INTEGER, SEQUENCE } = DER_TAG;
    for (const [i, tag] of [INTEGER, SEQUENCE, SEQUENCE, SEQUENCE, SEQUENCE, SEQUENCE].entries()) {
      if (tbs[first + i]?.tag !== tag) {
        return `TBSCertificate field ${first + i} is missing or not the expected type`;
      }
    }
    const times = decodeChildren(tbs[first + 3]);
    if (times.length !== 2) return "Validity does not hold two times";
    const notBefore = decodeTime(times[0]);
    const notAfter = decodeTime(times[1]);
    if (notAfter < notBefore) return "Certificate notAfter precedes notBefore";
    return { notBefore, notAfter, spki: tbs[first + 5].bytes };
  } catch (error) {
    if (error instanceof DerError) return `Invalid certificate: ${error.message}`;
    throw error;
  }
}

/**
 * Whether an ECDSA P-256 private key (PKCS#8) belongs to the public key in `spki`; undefined when
 * either is of another kind, which WebCrypto cannot compare here.
 */
async function keyMatchesSpki(keyDer: Uint8Array, spki: Uint8Array): Promise<boolean | undefined> {
  const algorithm = { name: "ECDSA", namedCurve: "P-256" };
  let publicJwk: JsonWebKey;
  let privateJwk: JsonWebKey;
  try {
    const publicKey = await crypto.subtle.importKey(
      "spki",
      Uint8Array.from(spki),
      algorithm,
      true,
      ["verify"],
    );
    const privateKey = await crypto.subtle.importKey(
      "pkcs8",
      Uint8Array.from(keyDer),
      algorithm,
      true,
      ["sign"],
    );
    publicJwk = await crypto.subtle.exportKey("jwk", publicKey);
    privateJwk = await crypto.subtle.exportKey("jwk", privateKey);
  } catch {
    return undefined;
  }
  return publicJwk.x === privateJwk.x && publicJwk.y === privateJwk.y;
}

/**
 * Checks that PEM text holds a private key block ("PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE
 * KEY") whose base64 decodes to one DER SEQUENCE. Returns undefined when it does, else the error.
 *
 * @example
 * ```ts
 * import { checkPrivateKeyPem, generateCertificate } from "./certificate.ts";
 *
 * const cert = await generateCertificate();
 * if (checkPrivateKeyPem(cert.keyPem) !== undefined) throw new Error("key refused");
 * if (checkPrivateKeyPem(cert.certPem) === undefined) throw new Error("certificate accepted");
 * ```
 */
export function checkPrivateKeyPem(pem: string): string | undefined {
  const der = decodePrivateKeyPem(pem);
  return typeof der === "string" ? der : undefined;
}

function decodePrivateKeyPem(pem: string): { der: Uint8Array; label: string } | string {
  const block = decodePem(pem, "PRIVATE KEY", true);
  if (typeof block === "string") return block;
  try {
    const key = decodeElement(block.der);
    if (key.tag !== DER_TAG.SEQUENCE || key.end !== block.der.length) {
      return "Private key is not a single DER SEQUENCE";
    }
    return block;
  } catch (error) {
    if (error instanceof DerError) return `Invalid private key: ${error.message}`;
    throw error;
  }
}

/**
 * Converts a WebCrypto ECDSA P-256 signature (raw `r‖s`, 32 bytes each) to the DER
 * `Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` that X.509 and TLS carry: leading
 * zero bytes are dropped and a zero byte is added where the top bit is set, so both stay
 * positive. Throws when the input is not 64 bytes.
 *
 * @example
 * ```ts
 * import { ecdsaSignatureToDer } from "./certificate.ts";
 *
 * const raw = new Uint8Array(64);
 * raw[31] = 1; // r = 1
 * raw[32] = 0x80; // s has its top bit set
 * const der = ecdsaSignatureToDer(raw);
 * if (der.slice(0, 5).join() !== "48,38,2,1,1" || der[5] !== 2 || der[6] !== 33) {
 *   throw new Error(der.join());
 * }
 * ```
 */
export function ecdsaSignatureToDer(raw: Uint8Array): Uint8Array<ArrayBuffer> {
  if (raw.length !== 64) {
    throw new Error(`Cannot convert an ECDSA P-256 signature of ${raw.length} bytes, expected 64`);
  }
  return encodeSequence(
    encodeUnsignedInteger(raw.subarray(0, 32)),
    encodeUnsignedInteger(raw.subarray(32)),
  );
}

/** Serving material handed to the QUIC server. */
export interface ServingCertificate {
  /** Certificate (or chain), PEM. */
  certPem: string;
  /** Private key, PEM. */
  keyPem: string;
  /** Start of validity of the (first) certificate. */
  notBefore: Date;
  /** End of validity of the (first) certificate. */
  notAfter: Date;
}

/** Options of {@linkcode CertificateManager}. Give both paths for file mode, neither for self-signed. */
export interface CertificateManagerOptions {
  /** PEM certificate (chain) file, as `CERT_PATH`. */
  certPath?: string;
  /** PEM private key file, as `KEY_PATH`. */
  keyPath?: string;
  /**
   * Self-signed mode: names the certificates are valid for.
   * @default {["localhost", "127.0.0.1", "::1"]}
   */
  hostnames?: readonly string[];
  /**
   * Self-signed mode: validity span of each certificate (at most 14 days).
   * @default {13 days}
   */
  validityMs?: number;
  /**
   * Self-signed mode: how far notBefore lies in the past.
   * @default {1 hour}
   */
  backdateMs?: number;
  /**
   * Self-signed mode: renew when this much validity remains. The old hash stays advertised
   * until the old certificate expires, so this is also the overlap.
   * @default {a third of the lifetime left at issue, (validityMs − backdateMs) / 3}
   */
  renewBeforeMs?: number;
  /**
   * File mode: how often the files are read to see whether they changed. A change is acted on
   * when two reads in a row agree, so it takes effect within two intervals.
   * @default {5000}
   */
  pollIntervalMs?: number;
  /**
   * The current time in milliseconds since the epoch (timers still run on the real clock).
   * @default {Date.now}
   */
  now?: () => number;
  /** Called after the certificate changed (not for the first one, which `start()` loads). */
  onChange?: (cert: ServingCertificate) => void;
  /**
   * Called when renewal or reloading failed; the previous certificate stays in use.
   * @default {logs a warning line on stderr}
   */
  onError?: (error: Error) => void;
}

interface Held extends ServingCertificate {
  sha256?: Uint8Array;
}

/**
 * Keeps the QUIC server's certificate current. Self-signed mode generates one at `start()` and
 * renews it `renewBeforeMs` before it expires, advertising both hashes until the old one
 * expires. File mode loads `certPath`/`keyPath`, advertises no hashes (a CA-signed certificate
 * needs none) and reloads the files when their contents change and have settled; a file that
 * does not parse, or an ECDSA P-256 key that does not belong to the certificate, is reported once
 * through `onError` and the previous pair kept. (Other key types are not compared here;
 * `Deno.QuicEndpoint.listen()` throws on a mismatch, so keep the old listener when it does.)
 *
 * @example
 * ```ts
 * import { CertificateManager } from "./certificate.ts";
 *
 * const manager = new CertificateManager({ validityMs: 60_000, backdateMs: 0 });
 * await manager.start();
 * const [hash] = manager.hashes();
 * if (hash.length !== 32 || manager.hashesBase64().length !== 1) throw new Error("no hash");
 * await manager.stop();
 * ```
 */
export class CertificateManager {
  readonly #options: CertificateManagerOptions;
  readonly #now: () => number;
  readonly #onError: (error: Error) => void;
  readonly #renewBeforeMs: number;
  #current: Held | undefined;
  #previous: Held | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #pending: Promise<void> | undefined;
  #stopped = false;
  /** File mode: the file contents last acted on (loaded or reported), so each is acted on once. */
  #settled = "";
  /** File mode: contents seen by the last poll, not yet acted on until a second poll agrees. */
  #candidate = "";

  /** Checks the options; throws on a combination that cannot work. */
  constructor(options: CertificateManagerOptions = {}) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    const logger = createLogger("warn");
    this.#onError = options.onError ??
      ((error) => logger.warn("certificate_error", { message: error.message }));
    if ((options.certPath === undefined) !== (options.keyPath === undefined)) {
      throw new Error("Certificate and key paths must be given together");
    }
    const validityMs = options.validityMs ?? DEFAULT_CERTIFICATE_VALIDITY_MS;
    const backdateMs = options.backdateMs ?? DEFAULT_CERTIFICATE_BACKDATE_MS;
    const pollMs = options.pollIntervalMs ?? DEFAULT_CERTIFICATE_POLL_INTERVAL_MS;
    if (!(pollMs > 0)) {
      throw new Error(`Certificate poll interval must be positive, got "${pollMs}"`);
    }
    this.#renewBeforeMs = options.renewBeforeMs ?? Math.floor((validityMs - backdateMs) / 3);
    if (!this.#fileMode) {
      checkValidity(validityMs, backdateMs);
      if (!(this.#renewBeforeMs > 0 && this.#renewBeforeMs < validityMs - backdateMs)) {
        throw new Error(
          `Certificate renewBeforeMs must be positive and less than the lifetime left at issue ` +
            `(${validityMs - backdateMs} ms), got "${this.#renewBeforeMs}"`,
        );
      }
    }
  }

  get #fileMode(): boolean {
    return this.#options.certPath !== undefined;
  }

  /** Generates or loads the first certificate and starts renewing or watching. */
  async start(): Promise<void> {
    if (this.#current || this.#stopped) {
      throw new Error("Certificate manager can be started only once");
    }
    if (this.#fileMode) {
      const files = await this.#readFiles();
      if (typeof files === "string") throw new Error(files);
      const loaded = await this.#check(files);
      if (typeof loaded === "string") throw new Error(loaded);
      this.#current = loaded;
      this.#settled = this.#candidate = files.seen;
      this.#schedule(this.#options.pollIntervalMs ?? DEFAULT_CERTIFICATE_POLL_INTERVAL_MS);
    } else {
      this.#current = await this.#generate();
      this.#scheduleRenewal();
    }
  }

  /** Stops renewing or watching, and waits for a renewal or reload in progress to end. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#pending;
  }

  /** The certificate to serve now. Throws before `start()` has finished. */
  current(): ServingCertificate {
    if (!this.#current) throw new Error("Certificate manager has not been started");
    const { certPem, keyPem, notBefore, notAfter } = this.#current;
    return { certPem, keyPem, notBefore, notAfter };
  }

  /**
   * SHA-256 hashes for `serverCertificateHashes`, newest first: the current certificate's, and
   * the previous one's until it expires. Empty in file mode.
   */
  hashes(): Uint8Array[] {
    const out: Uint8Array[] = [];
    if (this.#current?.sha256) out.push(this.#current.sha256.slice());
    if (this.#previous?.sha256 && this.#previous.notAfter.getTime() > this.#now()) {
      out.push(this.#previous.sha256.slice());
    }
    return out;
  }

  /** {@linkcode CertificateManager.hashes} in base64, for sending to pages. */
  hashesBase64(): string[] {
    return this.hashes().map(encodeBase64);
  }

  async #generate(): Promise<Held> {
    const cert = await generateCertificate({
      hostnames: this.#options.hostnames,
      validityMs: this.#options.validityMs,
      backdateMs: this.#options.backdateMs,
      now: this.#now(),
    });
    const { certPem, keyPem, notBefore, notAfter, sha256 } = cert;
    return { certPem, keyPem, notBefore, notAfter, sha256 };
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const work = this.#fileMode ? this.#reload() : this.#renew();
      this.#pending = work.finally(() => this.#pending = undefined);
    }, Math.max(0, delayMs));
  }

  #scheduleRenewal(): void {
    const renewAt = this.#current!.notAfter.getTime() - this.#renewBeforeMs;
    this.#schedule(renewAt - this.#now());
  }

  async #renew(): Promise<void> {
    try {
      const next = await this.#generate();
      if (this.#stopped) return;
      this.#previous = this.#current;
      this.#current = next;
      this.#changed(next);
      this.#scheduleRenewal();
    } catch (error) {
      this.#report(error);
      // Try again within a minute, sooner as the current certificate's expiry nears.
      const left = this.#current!.notAfter.getTime() - this.#now();
      this.#schedule(Math.min(60_000, Math.max(1000, left / 2)));
    }
  }

  async #reload(): Promise<void> {
    try {
      const files = await this.#readFiles();
      const seen = typeof files === "string" ? `error\0${files}` : files.seen;
      // Act on a change only once two polls in a row agree, so that a half-written file or a
      // certificate replaced before its key is never loaded, nor reported as an error.
      const settled = seen === this.#candidate;
      this.#candidate = seen;
      if (this.#stopped || !settled || seen === this.#settled) return;
      this.#settled = seen;
      const loaded = typeof files === "string" ? files : await this.#check(files);
      if (this.#stopped) return;
      if (typeof loaded === "string") {
        this.#report(new Error(loaded));
      } else if (
        loaded.certPem !== this.#current?.certPem || loaded.keyPem !== this.#current.keyPem
      ) {
        this.#current = loaded;
        this.#changed(loaded);
      }
    } catch (error) {
      this.#report(error);
    } finally {
      this.#schedule(this.#options.pollIntervalMs ?? DEFAULT_CERTIFICATE_POLL_INTERVAL_MS);
    }
  }

  /** Reads both files, or says why they cannot be read. */
  async #readFiles(): Promise<{ certPem: string; keyPem: string; seen: string } | string> {
    try {
      const [certPem, keyPem] = await Promise.all([
        Deno.readTextFile(this.#options.certPath!),
        Deno.readTextFile(this.#options.keyPath!),
      ]);
      return { certPem, keyPem, seen: `${certPem}\0${keyPem}` };
    } catch (error) {
      return `Cannot read certificate files: ${error instanceof Error ? error.message : error}`;
    }
  }

  /** Parses a certificate and key pair, or says why it cannot be used. */
  async #check(files: { certPem: string; keyPem: string }): Promise<Held | string> {
    const { certPem, keyPem } = files;
    const certPath = this.#options.certPath!;
    const keyPath = this.#options.keyPath!;
    const fields = parseCertificateFields(certPem);
    if (typeof fields === "string") return `Cannot use certificate "${certPath}": ${fields}`;
    const key = decodePrivateKeyPem(keyPem);
    if (typeof key === "string") return `Cannot use private key "${keyPath}": ${key}`;
    if (key.label === "PRIVATE KEY" && await keyMatchesSpki(key.der, fields.spki) === false) {
      return `Private key "${keyPath}" does not belong to certificate "${certPath}"`;
    }
    return { certPem, keyPem, notBefore: fields.notBefore, notAfter: fields.notAfter };
  }

  #changed(cert: Held): void {
    try {
      this.#options.onChange?.({
        certPem: cert.certPem,
        keyPem: cert.keyPem,
        notBefore: cert.notBefore,
        notAfter: cert.notAfter,
      });
    } catch (error) {
      this.#report(error);
    }
  }

  #report(error: unknown): void {
    this.#onError(error instanceof Error ? error : new Error(String(error)));
  }
}

// ----- Private helpers -----

function randomSerial(): Uint8Array {
  // 16 random bytes (RFC 5280 allows up to 20); top bit clear keeps it positive, and the next
  // bit set keeps the encoding exactly 16 bytes long.
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] = (serial[0] & 0x3f) | 0x40;
  return serial;
}

function encodeExtension(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
  // DER omits a BOOLEAN that equals its DEFAULT (critical is FALSE by default).
  const flag = critical ? [encodeBoolean(true)] : [];
  return encodeSequence(encodeOid(oid), ...flag, encodeOctetString(value));
}

function encodeSubjectAltNames(hostnames: readonly string[]): Uint8Array {
  if (hostnames.length === 0) throw new Error("Certificate needs at least one hostname");
  const names = hostnames.map((hostname) => {
    const ip = parseIpAddress(hostname);
    if (ip) return encodeImplicit(7, ip); // iPAddress
    if (!isDnsName(hostname)) {
      throw new Error(`Invalid certificate hostname "${hostname}": not a DNS name or IP address`);
    }
    return encodeImplicit(2, new TextEncoder().encode(hostname.toLowerCase())); // dNSName
  });
  return encodeSequence(...names);
}

function isDnsName(name: string): boolean {
  const label = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
  return name.length <= 253 && new RegExp(`^(?:\\*\\.)?${label}(?:\\.${label})*$`, "i").test(name);
}

function parseIpv4(text: string): number[] | undefined {
  const match = text.match(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/);
  if (!match) return undefined;
  const bytes = match.slice(1).map(Number);
  return bytes.every((b) => b <= 255) ? bytes : undefined;
}

/** Parses "1.2.3.4", "::1", "fe80::1:2", "::ffff:1.2.3.4" or "[::1]"; undefined otherwise. */
function parseIpAddress(text: string): Uint8Array | undefined {
  const v4 = parseIpv4(text);
  if (v4) return Uint8Array.from(v4);
  let s = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (!/^[0-9a-f:.]+$/i.test(s) || !s.includes(":")) return undefined;
  if (s.includes(".")) {
    const at = s.lastIndexOf(":");
    const tail = parseIpv4(s.slice(at + 1));
    if (!tail) return undefined;
    s = `${s.slice(0, at + 1)}${((tail[0] << 8) | tail[1]).toString(16)}:` +
      ((tail[2] << 8) | tail[3]).toString(16);
  }
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const split = (part: string) => (part === "" ? [] : part.split(":"));
  const head = split(halves[0]);
  const tail = halves.length === 2 ? split(halves[1]) : [];
  const groups = [...head, ...tail];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  if (halves.length === 1 ? groups.length !== 8 : groups.length > 7) return undefined;
  const zeros = new Array<string>(8 - groups.length).fill("0");
  const all = [...head, ...zeros, ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    const value = parseInt(g, 16);
    out[2 * i] = value >> 8;
    out[2 * i + 1] = value & 0xff;
  });
  return out;
}

function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function encodePem(label: string, der: Uint8Array): string {
  const lines = encodeBase64(der).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/**
 * The DER and label of the first PEM block labelled `label` (or, with `suffix`, whose label ends
 * with it), or an error message.
 */
function decodePem(
  text: string,
  label: string,
  suffix = false,
): { der: Uint8Array; label: string } | string {
  if (typeof text !== "string") return "PEM input is not text";
  if (text.length > MAX_PEM_CHARS) return `PEM input is larger than ${MAX_PEM_CHARS} characters`;
  const blocks = text.matchAll(/-----BEGIN ([A-Z0-9 ]{1,64})-----([^-]*)-----END \1-----/g);
  for (const [, found, body] of blocks) {
    if (suffix ? !found.endsWith(label) : found !== label) continue;
    const base64 = body.replace(/\s+/g, "");
    if (base64.length === 0 || base64.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) {
      return `PEM block "${found}" is not valid base64`;
    }
    return { der: Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)), label: found };
  }
  return `No PEM block "${label}" found`;
}
