/**
 * The bus that joins relay instances: each instance publishes what its sessions send and
 * subscribes once per room. Two implementations: {@linkcode MemoryBus} (one process, the
 * default) and `NatsBus` (many servers). Both follow NATS semantics with `noEcho`: a bus client
 * never receives what it published itself, because the relay has already delivered it locally.
 *
 * @module
 */

/** Receives one message: the concrete subject and the payload (valid only during the call). */
export type BusHandler = (subject: string, data: Uint8Array) => void;

/** A live subscription. */
export interface BusSubscription {
  unsubscribe(): void;
}

/** A change in the bus connection. */
export type BusEvent = "connected" | "disconnected" | "reconnected";

/** The boundary between the relay and whatever carries messages between instances. */
export interface Bus {
  /** `"memory"` or `"nats"`. */
  readonly kind: string;
  /** Largest payload the bus accepts, in bytes. */
  readonly maxPayloadBytes: number;
  /** Whether publishes currently reach other instances. */
  isConnected(): boolean;
  /** Subscribes to `subject` (NATS wildcards `*` and `>` allowed). */
  subscribe(subject: string, handler: BusHandler): BusSubscription;
  /** Publishes without waiting; returns false if the message could not be handed to the bus. */
  publish(subject: string, data: Uint8Array): boolean;
  /** Calls `listener` on every connection change. */
  onEvent(listener: (event: BusEvent) => void): void;
  /** Closes the connection; pending messages are flushed where possible. */
  close(): Promise<void>;
}

/** Subject of one participant's traffic in a room. */
export function participantSubject(room: string, sessionId: bigint): string {
  return `room.${room}.${sessionId}`;
}

/** Subject of a room's meeting and presence events. */
export function systemSubject(room: string): string {
  return `room.${room}.system`;
}

/** Subject of the instances' layer wishes (selective forwarding) in a room. */
export function layersSubject(room: string): string {
  return `room.${room}.layers`;
}

/** Subject of host actions that must reach sessions on every instance. */
export function controlSubject(room: string): string {
  return `room.${room}.control`;
}

/** The single subscription an instance holds per room. */
export function roomWildcard(room: string): string {
  return `room.${room}.*`;
}

/**
 * Whether a concrete `subject` matches a NATS `pattern` (`*` = one token, `>` = the rest).
 *
 * @example
 * ```ts
 * import { subjectMatches } from "./bus.ts";
 *
 * if (!subjectMatches("room.a.*", "room.a.system")) throw new Error();
 * if (subjectMatches("room.a.*", "room.a.b.c")) throw new Error();
 * ```
 */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== "*" && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}
