/**
 * Fuzz targets for what an operator hands the server: the settings parser and configuration
 * (`lib/server/settings.ts`, `config.ts`: flags and environment variables) and the certificate
 * and key files (`lib/relay/certificate.ts` on the DER reader of `der.ts`).
 *
 * The settings' contract: `parseFlags`, `parseSettings` and `loadConfig` never throw; they
 * return `{ ok: true, ... }` or `{ ok: false, error(s) }` with a message for each problem; every
 * value parsed, written back as its variable, parses to the same value. The certificate
 * readers' contract: they return a result or an error message, never throw, and the DER reader
 * throws only `DerError`; every element it reads is strict DER, so encoding it again gives the
 * same bytes.
 *
 * @module
 */
import {
  decodeChildren,
  decodeElement,
  decodeTime,
  DER_TAG,
  type DerElement,
  DerError,
  encodeTime,
  encodeTlv,
} from "../../lib/relay/der.ts";
import {
  checkPrivateKeyPem,
  generateCertificate,
  parseCertificateValidity,
} from "../../lib/relay/certificate.ts";
import { loadConfig } from "../../lib/server/config.ts";
import { parseFlags, parseSettings, type Setting, SETTINGS } from "../../lib/server/settings.ts";
import { assertEquals } from "../support/assert.ts";
import { expect, expectThrownType, type FuzzTarget, type Rng } from "../support/fuzz.ts";
import { randomText, sameBytes } from "./values.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const ALL = Object.entries(SETTINGS) as [string, Setting<unknown>][];

/**
 * The settings input as text: a line `--flag`, `--flag=value` or a value is one command-line
 * argument; a line `NAME=value` is an environment variable.
 */
function readSettingsInput(input: Uint8Array): { args: string[]; env: Record<string, string> } {
  const args: string[] = [];
  const env: Record<string, string> = {};
  let flagValueNext = false;
  for (const line of decoder.decode(input).split("\n")) {
    const eq = line.indexOf("=");
    if (line.startsWith("--") || flagValueNext || eq === -1) {
      args.push(line);
      flagValueNext = line.startsWith("--") && eq === -1;
    } else {
      env[line.slice(0, eq)] = line.slice(eq + 1);
    }
  }
  return { args, env };
}

// A plausible value for a setting: its default, a number at or past an edge, or text.
function settingValue(rng: Rng, setting: Setting<unknown>): string {
  switch (rng.below(6)) {
    case 0:
      return String(setting.fallback);
    case 1:
      return String(rng.pick([0, 1, 80, 1000, 4433, 65535, 65536, 2 ** 31, 2 ** 53 + 1]));
    case 2:
      return rng.pick(["on", "off", "ON", "open", "required", "debug", "silent", "", " 5 "]);
    case 3:
      return rng.pick([
        "nats://127.0.0.1:4222",
        "host:4222,nats://b:1",
        "postgres://u@h:5432/db",
        "https://meet.example.org",
        "http://[::1]:8080",
        "0".repeat(400),
        "1e3",
        "-1",
      ]);
    case 4:
      return randomText(rng, 6);
    default:
      return String(rng.below(100_000));
  }
}

/** Server settings from flags and environment variables. */
export const settingsTarget: FuzzTarget = {
  name: "server.settings",
  maxInputBytes: 2048,
  seeds: (rng) =>
    Array.from({ length: 32 }, () => {
      const lines: string[] = [];
      for (let n = rng.below(5); n > 0; n--) {
        const [, setting] = rng.pick(ALL);
        const value = settingValue(rng, setting);
        if (setting.flag !== undefined && rng.chance(0.5)) {
          lines.push(
            ...(rng.chance(0.5) ? [`--${setting.flag}=${value}`] : [`--${setting.flag}`, value]),
          );
        } else {
          lines.push(`${setting.env}=${value}`);
        }
      }
      return encoder.encode(lines.join("\n"));
    }),
  check(input) {
    const { args, env } = readSettingsInput(input);
    const flags = parseFlags(args);
    expect(typeof flags.ok === "boolean", "parseFlags did not return { ok }");
    const config = loadConfig(args, env);
    expect(
      config.ok || (typeof config.error === "string" && config.error.length > 0),
      "loadConfig failed without a message",
    );
    if (!flags.ok) {
      expect(!config.ok, "loadConfig accepted flags parseFlags refused");
      return false;
    }
    const parsed = parseSettings(flags.flags, env);
    if (!parsed.ok) {
      expect(parsed.errors.length > 0, "parseSettings failed without errors");
      for (const error of parsed.errors) expect(error.length > 0, "an empty error message");
      expect(!config.ok, "loadConfig accepted settings parseSettings refused");
      return false;
    }
    // Every value, written back as its variable alone, reads back the same.
    const values = parsed.values as Record<string, unknown>;
    const written: Record<string, string> = {};
    for (const [name, setting] of ALL) written[setting.env] = String(values[name]);
    const again = parseSettings(new Map(), written);
    expect(again.ok, `settings written back are refused: ${!again.ok && again.errors.join("; ")}`);
    assertEquals(again.values, parsed.values, "settings round trip");
    return config.ok;
  },
};

// Walks every element the DER reader can reach from `element`, as the certificate code would.
function walk(element: DerElement, buffer: Uint8Array, depth: number): void {
  expect(element.end <= buffer.length && element.start < element.end, "an element out of range");
  expect(
    sameBytes(encodeTlv(element.tag, element.content), element.bytes),
    "an element read is not in its one DER form",
  );
  if (element.tag === DER_TAG.UTC_TIME || element.tag === DER_TAG.GENERALIZED_TIME) {
    try {
      const date = decodeTime(element);
      expect(Number.isFinite(date.getTime()), "decodeTime gave an invalid date");
      const again = decodeTime(decodeElement(encodeTime(date)));
      expect(again.getTime() === date.getTime(), "a time does not survive a round trip");
    } catch (error) {
      expectThrownType(error, [DerError], "decodeTime");
    }
  }
  if ((element.tag & 0x20) === 0 || depth > 32) return;
  let children: DerElement[];
  try {
    children = decodeChildren(element);
  } catch (error) {
    expectThrownType(error, [DerError], "decodeChildren");
    return;
  }
  for (const child of children) walk(child, element.content, depth + 1);
}

function pem(label: string, der: Uint8Array): string {
  return `-----BEGIN ${label}-----\n${der.toBase64()}\n-----END ${label}-----\n`;
}

let certificates: Uint8Array[] = [];

/**
 * Certificate and key files, as DER: the DER reader, `parseCertificateValidity` and
 * `checkPrivateKeyPem` on the same bytes.
 */
export const certificateTarget: FuzzTarget = {
  name: "server.certificate",
  maxInputBytes: 4096,
  async open() {
    // Certificates of both time forms: UTCTime (1950-2049) and GeneralizedTime (2050 on).
    const made = await Promise.all(
      [Date.UTC(2026, 0, 1), Date.UTC(2049, 11, 31, 23), Date.UTC(2060, 5, 1)].map((now) =>
        generateCertificate({ now })
      ),
    );
    certificates = made.flatMap((c) => [
      c.der,
      Uint8Array.fromBase64(c.keyPem.replace(/-----[A-Z ]+-----|\s/g, "")),
    ]);
  },
  seeds: () => certificates.map((c) => c.slice()),
  check(input) {
    let element: DerElement | undefined;
    try {
      element = decodeElement(input);
    } catch (error) {
      expectThrownType(error, [DerError], "decodeElement");
    }
    if (element !== undefined) walk(element, input, 0);
    const validity = parseCertificateValidity(pem("CERTIFICATE", input));
    if (validity.ok) {
      expect(
        Number.isFinite(validity.notBefore.getTime()) && validity.notBefore <= validity.notAfter,
        "a certificate validity out of order",
      );
    } else {
      expect(typeof validity.error === "string" && validity.error.length > 0, "no error message");
    }
    const key = checkPrivateKeyPem(pem("PRIVATE KEY", input));
    expect(key === undefined || key.length > 0, "checkPrivateKeyPem gave an empty message");
    return validity.ok || key === undefined;
  },
};

/** Every configuration target. */
export const configTargets: FuzzTarget[] = [settingsTarget, certificateTarget];
