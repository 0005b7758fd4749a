/**
 * Bytes arriving in chunks from a pipe, read back in exact lengths: what the IVF and Ogg readers
 * are built on. Reading never copies unless a read spans chunks.
 *
 * @example
 * ```ts
 * import { ByteQueue } from "./byte_queue.ts";
 *
 * const q = new ByteQueue();
 * q.push(new Uint8Array([1, 2, 3]));
 * q.push(new Uint8Array([4, 5]));
 * const four = q.take(4);
 * if (four?.join() !== "1,2,3,4" || q.length !== 1) throw new Error();
 * ```
 *
 * @module
 */

/** A FIFO of bytes. */
export class ByteQueue {
  #chunks: Uint8Array[] = [];
  #offset = 0;
  #length = 0;

  /** Bytes held. */
  get length(): number {
    return this.#length;
  }

  /** Appends a chunk (kept, not copied: the caller must not reuse it). */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /** The byte at `index` from the front, or undefined past the end. */
  at(index: number): number | undefined {
    if (index >= this.#length) return undefined;
    let i = index + this.#offset;
    for (const chunk of this.#chunks) {
      if (i < chunk.length) return chunk[i];
      i -= chunk.length;
    }
    return undefined;
  }

  /** The first `n` bytes without removing them, or undefined if fewer are held. */
  peek(n: number): Uint8Array | undefined {
    if (n > this.#length) return undefined;
    const first = this.#chunks[0];
    if (first !== undefined && first.length - this.#offset >= n) {
      return first.subarray(this.#offset, this.#offset + n);
    }
    const out = new Uint8Array(n);
    let at = 0;
    let offset = this.#offset;
    for (const chunk of this.#chunks) {
      const part = chunk.subarray(offset, offset + (n - at));
      out.set(part, at);
      at += part.length;
      offset = 0;
      if (at === n) break;
    }
    return out;
  }

  /** Removes and returns the first `n` bytes, or undefined if fewer are held. */
  take(n: number): Uint8Array | undefined {
    const out = this.peek(n);
    if (out === undefined) return undefined;
    this.skip(n);
    return out;
  }

  /** Drops the first `n` bytes (at most all of them). */
  skip(n: number): void {
    n = Math.min(n, this.#length);
    this.#length -= n;
    while (n > 0) {
      const first = this.#chunks[0];
      const left = first.length - this.#offset;
      if (n < left) {
        this.#offset += n;
        return;
      }
      n -= left;
      this.#chunks.shift();
      this.#offset = 0;
    }
  }
}
