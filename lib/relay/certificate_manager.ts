/**
 * Keeps the WebTransport (QUIC) server's certificate current.
 *
 * In development {@linkcode CertificateManager} makes its own self-signed certificate, renews it
 * before it expires and hands out its SHA-256 hash for Chromium's `serverCertificateHashes`; in
 * production it loads `CERT_PATH`/`KEY_PATH` and reloads them when they change. The certificate
 * itself is made and checked by `certificate.ts`.
 *
 * @example
 * ```ts
 * import { CertificateManager } from "./certificate_manager.ts";
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
  checkCertificateValidityOptions,
  checkPrivateKeyPem,
  DEFAULT_CERTIFICATE_BACKDATE_MS,
  DEFAULT_CERTIFICATE_VALIDITY_MS,
  generateCertificate,
  parseCertificateValidity,
  privateKeyMatchesCertificate,
} from "./certificate.ts";
import { createLogger } from "../log.ts";

/** Default interval between two reads of `CERT_PATH`/`KEY_PATH` in file mode. */
export const DEFAULT_CERTIFICATE_POLL_INTERVAL_MS = 5000;

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
 * import { CertificateManager } from "./certificate_manager.ts";
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
  readonly #pollIntervalMs: number;
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
    this.#pollIntervalMs = options.pollIntervalMs ?? DEFAULT_CERTIFICATE_POLL_INTERVAL_MS;
    if (!(this.#pollIntervalMs > 0)) {
      throw new Error(`Certificate poll interval must be positive, got "${this.#pollIntervalMs}"`);
    }
    this.#renewBeforeMs = options.renewBeforeMs ?? Math.floor((validityMs - backdateMs) / 3);
    if (!this.#fileMode) {
      checkCertificateValidityOptions(validityMs, backdateMs);
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
      this.#schedule(this.#pollIntervalMs);
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
    return serving(this.#current);
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
    return this.hashes().map((hash) => hash.toBase64());
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
      this.#schedule(this.#pollIntervalMs);
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
    const validity = parseCertificateValidity(certPem);
    if (!validity.ok) return `Cannot use certificate "${certPath}": ${validity.error}`;
    const keyError = checkPrivateKeyPem(keyPem);
    if (keyError !== undefined) return `Cannot use private key "${keyPath}": ${keyError}`;
    if (await privateKeyMatchesCertificate(keyPem, certPem) === false) {
      return `Private key "${keyPath}" does not belong to certificate "${certPath}"`;
    }
    return { certPem, keyPem, notBefore: validity.notBefore, notAfter: validity.notAfter };
  }

  #changed(cert: Held): void {
    try {
      this.#options.onChange?.(serving(cert));
    } catch (error) {
      this.#report(error);
    }
  }

  #report(error: unknown): void {
    this.#onError(error instanceof Error ? error : new Error(String(error)));
  }
}

/** The serving fields of `cert`, without its hash. */
function serving(cert: Held): ServingCertificate {
  const { certPem, keyPem, notBefore, notAfter } = cert;
  return { certPem, keyPem, notBefore, notAfter };
}
