/**
 * A small typed event emitter: `on(name, listener)` returns the function that removes it. A
 * listener that throws is reported on the console and does not stop the others, so one broken
 * UI handler cannot break a call.
 *
 * @example
 * ```ts
 * import { Emitter } from "./events.ts";
 *
 * const events = new Emitter<{ joined: [name: string] }>();
 * const seen: string[] = [];
 * const off = events.on("joined", (name) => seen.push(name));
 * events.emit("joined", "Ada");
 * off();
 * events.emit("joined", "Bob");
 * if (seen.join() !== "Ada") throw new Error(seen.join());
 * ```
 *
 * @module
 */

/** The events of an emitter: each name maps to its listeners' argument list. */
export type EventMap = Record<string, unknown[]>;

/** Calls listeners by event name. */
export class Emitter<E extends EventMap> {
  readonly #listeners = new Map<keyof E, Set<unknown>>();

  /** Adds `listener` for `event`; returns the function that removes it again. */
  on<K extends keyof E>(event: K, listener: (...args: E[K]) => void): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener);
    return () => this.off(event, listener);
  }

  /** Removes `listener` from `event`. */
  off<K extends keyof E>(event: K, listener: (...args: E[K]) => void): void {
    this.#listeners.get(event)?.delete(listener);
  }

  /** Calls every listener of `event` with `args`, in the order they were added. */
  emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const set = this.#listeners.get(event);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        (listener as (...args: E[K]) => void)(...args);
      } catch (error) {
        console.error(`A "${String(event)}" listener failed:`, error);
      }
    }
  }
}
