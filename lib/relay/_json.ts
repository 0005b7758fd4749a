/**
 * Private helper for the relay's JSON bus messages (presence, control).
 *
 * @module
 */
const decoder = new TextDecoder();

/** Parses `bytes` as a JSON object; undefined for invalid JSON or anything but an object. */
export function parseJsonObject(bytes: Uint8Array): Record<string, unknown> | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(bytes));
  } catch {
    return undefined;
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return undefined;
  return raw as Record<string, unknown>;
}
