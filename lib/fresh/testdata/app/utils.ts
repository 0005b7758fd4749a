/**
 * The fixture app's typed `define` helpers, as a Fresh 2 app writes them.
 *
 * @module
 */
import { createDefine } from "fresh";

/** Request state filled in by the fixture's middleware. */
export interface State {
  trail: string[];
}

/** Typed helpers for the fixture's route files. */
export const define = createDefine<State>();
