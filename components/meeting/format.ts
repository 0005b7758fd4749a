/**
 * Small text helpers of the meeting page.
 *
 * @module
 */

/**
 * A name's initials for an avatar: the first letters of its first and last words.
 *
 * @example
 * ```ts
 * import { initials } from "./format.ts";
 *
 * if (initials("Ada King Lovelace") !== "AL" || initials("  ") !== "?") throw new Error();
 * ```
 */
export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  return ((parts[0]?.[0] ?? "?") + (parts.length > 1 ? parts[parts.length - 1][0] : ""))
    .toUpperCase();
}

/**
 * A call's duration: `m:ss`, or `h:mm:ss` from an hour on.
 *
 * @example
 * ```ts
 * import { formatDuration } from "./format.ts";
 *
 * if (formatDuration(65_000) !== "1:05" || formatDuration(3_600_000) !== "1:00:00") {
 *   throw new Error();
 * }
 * ```
 */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(h ? 2 : 1, "0");
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}
