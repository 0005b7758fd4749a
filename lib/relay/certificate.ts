/**
 * Self-signed certificates for the WebTransport (QUIC) server, and the checks on PEM files.
 *
 * Chromium accepts a self-signed certificate only through `serverCertificateHashes`, and only an
 * ECDSA P-256 certificate whose validity (notBefore to notAfter) spans at most 14 days. So in
 * development the server makes its own with {@linkcode generateCertificate} and tells pages its
 * SHA-256 hash; in production it reads `CERT_PATH`/`KEY_PATH`, checked with
 * {@linkcode parseCertificateValidity}, {@linkcode checkPrivateKeyPem} and
 * {@linkcode privateKeyMatchesCertificate}. Renewing and reloading live in
 * `certificate_manager.ts`.
 *
 * @example
 * ```ts
 * import { generateCertificate, parseCertificateValidity } from "./certificate.ts";
 *
 * const cert = await generateCertificate({ hostnames: ["localhost"] });
 * const validity = parseCertificateValidity(cert.certPem);
 * if (!validity.ok || validity.notAfter.getTime() !== cert.notAfter.getTime()) throw new Error();
 * if (cert.sha256Base64.length !== 44) throw new Error("expected a base64 SHA-256 hash");
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
  checkCertificateValidityOptions(validityMs, backdateMs);
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
    sha256Base64: sha256.toBase64(),
    notBefore,
    notAfter,
  };
}

/**
 * Throws unless `validityMs` and `backdateMs` can make a certificate Chromium accepts: a
 * validity within (0, 14 days] and a backdate of at least 0 and less than the validity.
 *
 * @example
 * ```ts
 * import { checkCertificateValidityOptions } from "./certificate.ts";
 *
 * checkCertificateValidityOptions(13 * 86_400_000, 3_600_000);
 * try {
 *   checkCertificateValidityOptions(15 * 86_400_000, 0);
 *   throw new Error("15 days accepted");
 * } catch (error) {
 *   if (!String(error).includes("at most 14 days")) throw error;
 * }
 * ```
 */
export function checkCertificateValidityOptions(validityMs: number, backdateMs: number): void {
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

/** Validity and public key of the first certificate in `pem`, or an error message. */
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
 * Whether the private key in `keyPem` belongs to the first certificate in `certPem`. Only an
 * ECDSA P-256 key in PKCS#8 ("PRIVATE KEY") can be compared here; for any other key, or when
 * either input does not parse, the answer is undefined.
 *
 * @example
 * ```ts
 * import { generateCertificate, privateKeyMatchesCertificate } from "./certificate.ts";
 *
 * const [a, b] = await Promise.all([generateCertificate(), generateCertificate()]);
 * if (await privateKeyMatchesCertificate(a.keyPem, a.certPem) !== true) throw new Error("own key");
 * if (await privateKeyMatchesCertificate(b.keyPem, a.certPem) !== false) throw new Error("other");
 * if (await privateKeyMatchesCertificate("garbage", a.certPem) !== undefined) throw new Error();
 * ```
 */
export async function privateKeyMatchesCertificate(
  keyPem: string,
  certPem: string,
): Promise<boolean | undefined> {
  const fields = parseCertificateFields(certPem);
  const key = decodePrivateKeyPem(keyPem);
  if (typeof fields === "string" || typeof key === "string" || key.label !== "PRIVATE KEY") {
    return undefined;
  }
  return await keyMatchesSpki(key.der, fields.spki);
}

/** Whether a PKCS#8 ECDSA P-256 key belongs to `spki`; undefined when WebCrypto cannot tell. */
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

function encodePem(label: string, der: Uint8Array): string {
  const lines = der.toBase64().match(/.{1,64}/g) ?? [];
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
    return { der: Uint8Array.fromBase64(base64), label: found };
  }
  return `No PEM block "${label}" found`;
}
