/**
 * Every fuzz target, in one list: the wire codec and framing, the relay's bus messages and
 * client checks, the streamer's containers, the server's configuration and certificates, and
 * the client's end-to-end encryption. `tests/fuzz_test.ts` runs each for a fixed number of
 * inputs from a fixed seed; `tools/fuzz.ts` runs them with fresh seeds for as long as it is told.
 *
 * @module
 */
import type { FuzzTarget } from "./support/fuzz.ts";
import { codecTargets, framingTarget } from "./fuzz/codec_targets.ts";
import { configTargets } from "./fuzz/config_targets.ts";
import { e2eeTargets } from "./fuzz/e2ee_targets.ts";
import { mediaTargets } from "./fuzz/media_targets.ts";
import { relayTargets } from "./fuzz/relay_targets.ts";

/** All targets, by name. */
export const FUZZ_TARGETS: readonly FuzzTarget[] = [
  ...codecTargets,
  framingTarget,
  ...relayTargets,
  ...mediaTargets,
  ...configTargets,
  ...e2eeTargets,
];

/** The target called `name`, or undefined. */
export function fuzzTarget(name: string): FuzzTarget | undefined {
  return FUZZ_TARGETS.find((target) => target.name === name);
}
