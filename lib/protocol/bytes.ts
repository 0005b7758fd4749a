/**
 * Byte helpers shared by every part: joining chunks read from a stream or a pipe.
 *
 * @module
 */

/**
 * The chunks joined into one new array (always a copy; a caller that can keep a lone chunk as
 * it is checks `chunks.length === 1` first). `total` may be given when the caller already
 * counted the bytes.
 *
 * @example
 * ```ts
 * import { concatBytes } from "./bytes.ts";
 *
 * const joined = concatBytes([Uint8Array.of(1, 2), Uint8Array.of(3)]);
 * if (joined.join() !== "1,2,3") throw new Error();
 * ```
 */
export function concatBytes(
  chunks: readonly Uint8Array[],
  total?: number,
): Uint8Array<ArrayBuffer> {
  let size = total ?? 0;
  if (total === undefined) { for (const chunk of chunks) size += chunk.length; }
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
