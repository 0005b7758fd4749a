/**
 * Island props on their way from the server to the browser: {@linkcode PropsSerializer} turns
 * them into JSON on the server, {@linkcode reviveProps} turns that back into values in the
 * browser. Shared code: no Deno API.
 *
 * Besides JSON values, props may hold `undefined`, non-finite numbers, `bigint`, `Date`,
 * `Uint8Array` and `@preact/signals` signals. A signal becomes a browser `signal()` holding the
 * same value (a computed signal too), and one signal object used in several props or islands of
 * a page becomes one browser signal. Anything else — functions, class instances, JSX elements
 * (so also JSX `children`), symbols, circular structures — is refused with an error that names
 * the island and the prop.
 *
 * Special values are encoded as objects with a `"$vc"` tag; a plain object that happens to have
 * a `"$vc"` key is wrapped, so every input round-trips.
 *
 * @example
 * ```ts
 * import { signal } from "@preact/signals";
 * import { PropsSerializer, reviveProps } from "./serialize.ts";
 *
 * const count = signal(1);
 * const serializer = new PropsSerializer();
 * serializer.add("A", { count, at: new Date(0) });
 * serializer.add("B", { count });
 * const [a, b] = reviveProps(JSON.parse(JSON.stringify(serializer.payload())));
 * if (a.count !== b.count || !(a.at instanceof Date)) throw new Error();
 * ```
 *
 * @module
 */
import { isValidElement } from "preact";
import { Signal, signal } from "@preact/signals";

const TAG = "$vc";

/** The JSON sent to the browser: each island's encoded props and the page's signal values. */
export interface PropsPayload {
  props: unknown[];
  signals: unknown[];
}

/** Collects the props of every island on one page, sharing signals between them. */
export class PropsSerializer {
  #props: unknown[] = [];
  #signals: unknown[] = [];
  #signalIndex = new Map<Signal, number>();

  /**
   * Encodes one island's props and returns their index in the payload.
   * Throws if a prop cannot be sent to the browser.
   *
   * @param island The island's name, for error messages.
   * @param props The props as passed in JSX.
   */
  add(island: string, props: Record<string, unknown>): number {
    const encoded: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(props)) {
      encoded[key] = this.#encode(value, island, key, new Set());
    }
    return this.#props.push(encoded) - 1;
  }

  /** The JSON-compatible payload for {@linkcode reviveProps}. */
  payload(): PropsPayload {
    return { props: this.#props, signals: this.#signals };
  }

  #encode(value: unknown, island: string, path: string, seen: Set<object>): unknown {
    const refuse = (what: string): never => {
      throw new TypeError(
        `Island ${island}: prop "${path}" is ${what}, which cannot be sent to the browser; ` +
          "pass JSON values, undefined, bigint, Date, Uint8Array or signals",
      );
    };
    switch (typeof value) {
      case "string":
      case "boolean":
        return value;
      case "number":
        return Number.isFinite(value) && !Object.is(value, -0)
          ? value
          : { [TAG]: "n", v: Object.is(value, -0) ? "-0" : String(value) };
      case "undefined":
        return { [TAG]: "u" };
      case "bigint":
        return { [TAG]: "i", v: value.toString() };
      case "function":
        return refuse("a function");
      case "symbol":
        return refuse("a symbol");
    }
    if (value === null) return null;
    const object = value as object;
    if (seen.has(object)) refuse("a circular structure");
    if (object instanceof Signal) {
      let index = this.#signalIndex.get(object);
      if (index === undefined) {
        index = this.#signals.push(null) - 1;
        this.#signalIndex.set(object, index);
        this.#signals[index] = this.#encode(object.peek(), island, `${path}.value`, seen);
      }
      return { [TAG]: "s", v: index };
    }
    if (object instanceof Date) {
      return { [TAG]: "d", v: this.#encode(object.getTime(), "", "", seen) };
    }
    if (object instanceof Uint8Array) return { [TAG]: "b", v: toBase64(object) };
    if (isValidElement(object)) return refuse("a JSX element (JSX children are not supported)");
    seen.add(object);
    try {
      if (Array.isArray(object)) {
        return object.map((item, i) => this.#encode(item, island, `${path}.${i}`, seen));
      }
      const proto = Object.getPrototypeOf(object);
      if (proto !== Object.prototype && proto !== null) {
        refuse(`an instance of ${object.constructor?.name ?? "a class"}`);
      }
      const encoded: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(object)) {
        encoded[key] = this.#encode(item, island, `${path}.${key}`, seen);
      }
      return TAG in encoded ? { [TAG]: "o", v: encoded } : encoded;
    } finally {
      seen.delete(object);
    }
  }
}

/**
 * Decodes a {@linkcode PropsPayload} into one props object per island, in the order they were
 * added. Signals come back as `@preact/signals` signals, shared where they were shared.
 */
export function reviveProps(payload: PropsPayload): Record<string, unknown>[] {
  const signals: Signal[] = [];
  const revive = (value: unknown): unknown => {
    if (typeof value !== "object" || value === null) return value;
    if (Array.isArray(value)) return value.map(revive);
    const record = value as Record<string, unknown>;
    const tagged = record[TAG];
    if (tagged === undefined) {
      return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, revive(v)]));
    }
    const v = record.v;
    switch (tagged) {
      case "u":
        return undefined;
      case "n":
        return Number(v);
      case "i":
        return BigInt(v as string);
      case "d":
        return new Date(revive(v) as number);
      case "b":
        return fromBase64(v as string);
      case "o":
        return Object.fromEntries(
          Object.entries(v as Record<string, unknown>).map(([k, item]) => [k, revive(item)]),
        );
      case "s": {
        const index = v as number;
        if (signals[index] === undefined) {
          signals[index] = signal<unknown>(undefined);
          signals[index].value = revive(payload.signals[index]);
        }
        return signals[index];
      }
    }
    throw new TypeError(`Unknown serialized value tag "${String(tagged)}"`);
  };
  return payload.props.map((props) => revive(props) as Record<string, unknown>);
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
