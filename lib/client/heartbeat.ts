/**
 * The room's clocks: a heartbeat (our camera, microphone, screen and speaking flags) every
 * second and at once on a change, and an RTT probe every two seconds. The probe goes as a
 * WebTransport datagram where there are any: a lost probe costs nothing, and a stream would
 * measure stream set-up as well as the network.
 *
 * @module
 */

/** How often our flags go out, in ms. */
export const HEARTBEAT_INTERVAL_MS = 1000;
/** How often the round trip to the server is measured, in ms. */
export const RTT_PROBE_INTERVAL_MS = 2000;

/** Runs the heartbeat and RTT timers of one connection. */
export class Heartbeats {
  readonly #intervalMs: number;
  #timers: ReturnType<typeof setInterval>[] = [];

  constructor(intervalMs = HEARTBEAT_INTERVAL_MS) {
    this.#intervalMs = intervalMs;
  }

  /** Starts both timers (stopping earlier ones). */
  start(heartbeat: () => void, probe: () => void): void {
    this.stop();
    this.#timers.push(setInterval(heartbeat, this.#intervalMs));
    this.#timers.push(setInterval(probe, RTT_PROBE_INTERVAL_MS));
  }

  /** Stops both timers. */
  stop(): void {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
  }
}
