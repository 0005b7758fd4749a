/**
 * The connection loop of a room: connect (WebTransport first, WebSocket as fallback), run the
 * connection until it closes, and reconnect with exponential backoff into the same session
 * (`?resume=`), unless the close code says reconnecting cannot help (left, removed, ended,
 * refused). Before each reconnect the room joins through the API again, so a restarted server, an
 * ended meeting or a removal is noticed with its reason.
 *
 * Before the first connection there are three quick tries (the person is looking at a spinner);
 * afterwards `maxReconnectAttempts` in a row (default 12, 0.3 s to 8 s apart). A connection that
 * lasted more than 5 s resets the backoff.
 *
 * @module
 */
import { CloseCode, FINAL_CLOSE_CODES } from "../protocol/close_codes.ts";
import { Backoff } from "./backoff.ts";
import {
  type CloseInfo,
  connect,
  ConnectError,
  type Connection,
  type ConnectOptions,
} from "./transport.ts";

/** Where a room stands. */
export type RoomState =
  | { kind: "connecting"; attempt: number }
  | { kind: "waiting" }
  | { kind: "connected"; transport: "webtransport" | "websocket" }
  | { kind: "reconnecting"; attempt: number; inMs: number; reason: string }
  | { kind: "ended"; reason: string; code: number; error?: boolean };

/** Tries before the first connection. */
const FIRST_CONNECT_ATTEMPTS = 3;
/** Default tries in a row after a drop. */
const DEFAULT_RECONNECT_ATTEMPTS = 12;
/** A connection that lasted this long resets the backoff, in ms. */
const STABLE_CONNECTION_MS = 5000;

/** What the loop needs from its room. */
export interface ConnectionLoopOptions {
  /** How to connect, without the path (read at every attempt: the room may move servers). */
  connect: () => Omit<ConnectOptions, "path">;
  /** The media path with its query (token, resume) for the next attempt. */
  path(): string;
  /** Whether a session was ever assigned (then a reconnect resumes it). */
  hasSession(): boolean;
  /** Before a reconnect: joins through the API again; false when the call is over. */
  rejoin(): Promise<boolean>;
  /** Runs one open connection until it closes; `assigned` when it got a session. */
  run(connection: Connection): Promise<{ info: CloseInfo; assigned: boolean }>;
  setState(state: RoomState): void;
  /** The call is over (left, refused, ended, or out of tries). */
  end(reason: string, code: number, error: boolean): void;
  /** Gives up after this many failed attempts in a row (default 12). */
  maxReconnectAttempts?: number;
}

/** Connects, runs and reconnects until the call is over. */
export class ConnectionLoop {
  readonly #options: ConnectionLoopOptions;
  readonly #backoff = new Backoff({ baseMs: 300, maxMs: 8000 });
  #stopped = false;
  #reconnecting = false;
  #wake: (() => void) | undefined;
  /** Connections that closed and were followed by a reconnect attempt. */
  reconnects = 0;

  constructor(options: ConnectionLoopOptions) {
    this.#options = options;
  }

  /** Stops the loop (a leave): a pending backoff wait ends at once. */
  stop(): void {
    this.#stopped = true;
    this.#wake?.();
  }

  /** Runs until the call is over. */
  async run(): Promise<void> {
    const o = this.#options;
    for (;;) {
      if (this.#stopped) return;
      if (!this.#reconnecting) o.setState({ kind: "connecting", attempt: this.#backoff.attempts });
      else if (!(await o.rejoin())) return;
      let connection: Connection;
      try {
        connection = await connect({ ...o.connect(), path: o.path() });
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        if (!(error instanceof ConnectError) || !this.#mayRetry(reason)) return;
        await this.#sleep(reason);
        continue;
      }
      if (this.#stopped) {
        connection.close(CloseCode.NORMAL, "left");
        return;
      }
      const opened = performance.now();
      const { info, assigned } = await o.run(connection);
      if (this.#stopped) return;
      if (assigned && performance.now() - opened > STABLE_CONNECTION_MS) this.#backoff.reset();
      const final = FINAL_CLOSE_CODES[info.code];
      if (final !== undefined) {
        o.end(info.reason || final, info.code, false);
        return;
      }
      this.reconnects++;
      const reason = info.reason || `connection lost (${info.code})`;
      if (!this.#mayRetry(reason)) return;
      await this.#sleep(reason);
    }
  }

  #mayRetry(reason: string): boolean {
    const max = this.#options.hasSession()
      ? this.#options.maxReconnectAttempts ?? DEFAULT_RECONNECT_ATTEMPTS
      : FIRST_CONNECT_ATTEMPTS;
    if (this.#backoff.attempts >= max) {
      this.#options.end(`Cannot reach the meeting: ${reason}`, 1006, true);
      return false;
    }
    return true;
  }

  async #sleep(reason: string): Promise<void> {
    const inMs = this.#backoff.next();
    this.#reconnecting = true;
    this.#options.setState({ kind: "reconnecting", attempt: this.#backoff.attempts, inMs, reason });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, inMs);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }
}
