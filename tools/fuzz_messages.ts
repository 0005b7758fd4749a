/**
 * What `tools/fuzz.ts` and its worker (`tools/fuzz_worker.ts`) say to each other: the job, the
 * events of a run, and the layout of the memory they share (the input being checked, and a
 * counter of inputs that a hang stops).
 *
 * @module
 */

/** Where the shared memory holds what, in 32-bit words, then bytes. */
export const SHARED = {
  /** Inputs started, ever (wraps). */
  COUNTER: 0,
  /** Length of the input being checked. */
  LENGTH: 1,
  /** The input itself starts at this byte. */
  BYTES_AT: 8,
  /** Bytes of the shared buffer; longer inputs are cut (the length says by how much). */
  SIZE: 8 + 64 * 1024,
} as const;

/** What the main thread asks for. */
export interface FuzzJob {
  targets: string[];
  baseSeed: number;
  /** How long to run, in ms from receiving the job. */
  durationMs: number;
  /** How long each target runs before the next one gets its turn, in ms. */
  sliceMs: number;
  shared: SharedArrayBuffer;
}

/** What the worker reports. */
export type FuzzEvent =
  | { kind: "slice"; target: string; seed: number }
  | { kind: "progress"; target: string; seed: number; iterations: number; accepted: number }
  | {
    kind: "failure";
    target: string;
    seed: number;
    iteration: number;
    hex: string;
    error: string;
  }
  | { kind: "finished" };
