/**
 * Validation of room and user ids, which end up in NATS subjects, URLs and database rows.
 *
 * @module
 */
import { ID_PATTERN, MAX_ID_LENGTH } from "./limits.ts";

/** The outcome of {@linkcode validateId}. */
export type IdCheck = { ok: true; id: string } | { ok: false; reason: string };

/**
 * Checks that `value` is a usable room or user id: 1 to 64 of `A-Z a-z 0-9 _ -`.
 *
 * @param kind What the id names, used in the reason (`"room id"`, `"user id"`).
 * @param value The raw value, e.g. a URL path segment after percent-decoding.
 * @returns The id, or a reason written for the person who sent it.
 *
 * @example
 * ```ts
 * import { validateId } from "./ids.ts";
 *
 * const good = validateId("room id", "standup");
 * const bad = validateId("room id", "a.b");
 * if (!good.ok || bad.ok) throw new Error("unexpected");
 * ```
 */
export function validateId(kind: string, value: string): IdCheck {
  if (value.length === 0) return { ok: false, reason: `The ${kind} is empty` };
  if (value.length > MAX_ID_LENGTH) {
    return { ok: false, reason: `The ${kind} is longer than ${MAX_ID_LENGTH} characters` };
  }
  if (!ID_PATTERN.test(value)) {
    return {
      ok: false,
      reason: `The ${kind} "${printable(value)}" may only contain letters, digits, "_" and "-"`,
    };
  }
  return { ok: true, id: value };
}

// Keeps control characters and other invisible input out of error messages and logs.
function printable(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, "?");
}

/**
 * Makes a user id from a display name: accents dropped, anything else outside the id alphabet
 * becomes "-", at most 32 characters; `"guest"` when nothing is left.
 *
 * @example
 * ```ts
 * import { userIdFromName } from "./ids.ts";
 *
 * if (userIdFromName("  Ada Lovelace ") !== "Ada-Lovelace") throw new Error();
 * if (userIdFromName("Zoë O'Brien") !== "Zoe-O-Brien") throw new Error();
 * if (userIdFromName("山田") !== "guest") throw new Error();
 * ```
 */
export function userIdFromName(name: string): string {
  const id = name.normalize("NFKD").replace(/[\u0300-\u036f]/g, "")
    .replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 32).replace(/-+$/, "");
  return id || "guest";
}

/**
 * A fresh meeting id that is easy to read out: three groups of lowercase letters, `abc-defg-hij`.
 */
export function newMeetingId(random: () => number = Math.random): string {
  const letters = "abcdefghijkmnopqrstuvwxyz";
  const group = (n: number) =>
    Array.from({ length: n }, () => letters[Math.floor(random() * letters.length)]).join("");
  return `${group(3)}-${group(4)}-${group(3)}`;
}
