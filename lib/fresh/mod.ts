/**
 * A small Fresh-2-compatible framework layer: file-system routes, layouts, middleware, error
 * pages, static files and islands, on preact. Route and island files are written exactly as
 * for Fresh 2 (`import { define, page } from "fresh"`), so moving to `jsr:@fresh/core` is a
 * change of the import map.
 *
 * @example
 * ```ts ignore
 * import { createApp } from "fresh";
 *
 * const app = await createApp({ root: "." }); // holds routes/, islands/, static/
 * await app.build(); // optional: bundle the islands now rather than on first need
 * Deno.serve((req, info) => app.handler(req, info));
 * ```
 *
 * @module
 */
export {
  type AppOptions,
  type BuildInfo,
  createApp,
  type FreshApp,
  type LogFields,
} from "./app.ts";
export { createDefine, type Define, type HandlerData, page, type PageData } from "./define.ts";
export { HttpError } from "./http_error.ts";
export type {
  Context,
  FreshContext,
  Handler,
  HandlerByMethod,
  HandlerFn,
  Method,
  Middleware,
  PageComponent,
  PageProps,
  PageResponse,
  RouteConfig,
  RouteHandler,
} from "./types.ts";
