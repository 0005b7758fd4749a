/**
 * The app's `define` helpers (Fresh 2 convention): typed handlers and pages for every route.
 *
 * @module
 */
import { createDefine } from "fresh";

/** State shared by middleware and routes (nothing yet). */
export type State = Record<string, never>;

/** Typed `define.page`, `define.handlers`, `define.middleware`. */
export const define = createDefine<State>();
