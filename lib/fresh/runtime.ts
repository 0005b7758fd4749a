/**
 * Helpers shared by server and browser code (import name `fresh/runtime`, as in Fresh 2).
 *
 * This module is bundled into the browser, so it uses no Deno API. The server renderer and the
 * browser boot module feed it the current build id and, on the server, a sink for `<Head>`
 * children, through {@linkcode setBuildId} and {@linkcode setHeadSink}.
 *
 * @example
 * ```ts
 * import { asset, IS_BROWSER } from "fresh/runtime";
 *
 * if (IS_BROWSER) throw new Error("doc tests run on the server");
 * const href: string = asset("/styles.css"); // "/styles.css?__vc_c=<build id>" once rendering
 * if (!href.startsWith("/styles.css")) throw new Error();
 * ```
 *
 * @module
 */
import type { ComponentChildren } from "preact";

/** Whether this code runs in a browser (`true`) or on the server (`false`). */
export const IS_BROWSER: boolean = typeof document !== "undefined";

/** The query parameter that carries the build id on asset URLs. */
export const ASSET_QUERY = "__vc_c";

let buildId = "";
let headSink: ((children: ComponentChildren) => void) | null = null;

/**
 * Sets the build id that {@linkcode asset} appends. Called by the renderer on the server and by
 * the boot module in the browser; application code never needs it.
 *
 * @param id The current build id, or `""` to stop appending.
 */
export function setBuildId(id: string): void {
  buildId = id;
}

/**
 * Sets where {@linkcode Head} sends its children while a page renders on the server, or `null`
 * outside a render. Called by the renderer only.
 *
 * @param sink Receives the children of each rendered `<Head>`.
 */
export function setHeadSink(sink: ((children: ComponentChildren) => void) | null): void {
  headSink = sink;
}

/**
 * Adds a cache-busting query (`?__vc_c=<build id>`) to a path of a file in `static/`, so the
 * server may answer it with `cache-control: immutable`. Absolute URLs, protocol-relative URLs,
 * relative paths and paths that already carry the query are returned unchanged.
 *
 * In the browser the build id is known once the boot module has run, so call `asset()` while
 * rendering, not at the top level of an island module.
 *
 * @example
 * ```ts
 * import { asset, setBuildId } from "fresh/runtime";
 *
 * setBuildId("abc123");
 * if (asset("/logo.svg") !== "/logo.svg?__vc_c=abc123") throw new Error();
 * if (asset("https://example.com/x.png") !== "https://example.com/x.png") throw new Error();
 * setBuildId("");
 * ```
 *
 * @param path A root-relative path such as `"/styles.css"`.
 * @returns The path with the build id query added.
 */
export function asset(path: string): string {
  if (buildId === "" || !path.startsWith("/") || path.startsWith("//")) return path;
  if (path.includes(`${ASSET_QUERY}=`)) return path;
  return `${path}${path.includes("?") ? "&" : "?"}${ASSET_QUERY}=${buildId}`;
}

/** Props of {@linkcode Head}. */
export interface HeadProps {
  /** Elements for the document `<head>`, such as `<title>` or `<meta>`. */
  children?: ComponentChildren;
}

/**
 * Moves its children into the document `<head>` when a page renders on the server (they are
 * appended at the end of the `<head>` written by `_app.tsx`). Renders nothing in place, and
 * does nothing in the browser.
 *
 * @example
 * ```tsx
 * import { Head } from "fresh/runtime";
 *
 * export function Title() {
 *   return <Head><title>Meeting</title></Head>;
 * }
 * ```
 */
export function Head(props: HeadProps): null {
  if (!IS_BROWSER && headSink !== null) headSink(props.children);
  return null;
}
