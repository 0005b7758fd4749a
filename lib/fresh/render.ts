/**
 * Renders a page to an HTML document: the page inside its layouts and `_app`, `<Head>` children
 * moved into `<head>`, and — only when islands rendered — `modulepreload` links and the inline
 * module script that boots them.
 *
 * Async page, layout and `_app` components are awaited first (innermost first); the resulting
 * tree is rendered synchronously with `preact-render-to-string`, within an island scope.
 *
 * @module
 */
import { type ComponentChildren, type ComponentType, Fragment, h } from "preact";
import { renderToString } from "preact-render-to-string";
import { setBuildId, setHeadSink } from "./runtime.ts";
import { createIslandScope, renderInScope } from "./islands.ts";
import type { Bundle } from "./bundle.ts";
import type { PageComponent, PageProps } from "./types.ts";

/** Where built chunks are served; followed by `<bundle id>/<path>`. */
export const JS_PREFIX = "/_fresh/js/";

/** The HTML shell of apps without `routes/_app.tsx`. */
export function DefaultApp({ Component }: PageProps): ComponentChildren {
  return h(
    "html",
    null,
    h(
      "head",
      null,
      h("meta", { charset: "utf-8" }),
      h("meta", { name: "viewport", content: "width=device-width, initial-scale=1" }),
    ),
    h("body", null, h(Component, null)),
  );
}

/** What {@linkcode renderDocument} needs. */
export interface RenderOptions {
  /** `_app` and layouts, outer to inner, then the page component (unless `content`). */
  layers: PageComponent[];
  /** Rendered instead of a page component (from `ctx.render(vnode)`). */
  content?: ComponentChildren;
  /** The props every layer gets, except `Component`. */
  props: Omit<PageProps, "Component">;
  /** The app's build id, for `asset()`. */
  buildId: string;
  /** Gets the browser bundle; called only when the page contains islands. */
  bundle: () => Promise<Bundle>;
}

/** Renders a complete HTML document, starting with `<!DOCTYPE html>`. */
export async function renderDocument(options: RenderOptions): Promise<string> {
  const { layers, props } = options;
  setBuildId(options.buildId);
  const Empty: ComponentType = () => null;
  let tree: ComponentChildren = options.content;
  for (let i = layers.length - 1; i >= 0; i--) {
    const inner = tree;
    const Component: ComponentType = i === layers.length - 1 && options.content === undefined
      ? Empty
      : () => inner;
    tree = await element(layers[i], { ...props, Component });
  }

  const head: ComponentChildren[] = [];
  const scope = createIslandScope();
  let html: string;
  // Again: other requests may have rendered while the async layers were awaited.
  setBuildId(options.buildId);
  setHeadSink((children) => head.push(children));
  try {
    html = renderInScope(scope, () => renderToString(h(Fragment, null, tree)));
  } finally {
    setHeadSink(null);
  }
  let headHtml = head.length > 0 ? renderToString(h(Fragment, null, head)) : "";
  let bodyHtml = "";
  if (scope.used.size > 0) {
    const bundle = await options.bundle();
    const url = (path: string) => encodeURI(`${JS_PREFIX}${bundle.info.bundleId}/${path}`);
    const used = [...scope.used];
    const entries = [bundle.client, ...used.map((file) => bundle.islands.get(file)!)];
    const preload = new Set(entries.flatMap((path) => [path, ...bundle.imports.get(path)!]));
    for (const path of preload) headHtml += `<link rel="modulepreload" href="${url(path)}">`;
    const islands = Object.fromEntries(used.map((file) => [file, url(bundle.islands.get(file)!)]));
    const data = { islands, payload: scope.serializer.payload(), buildId: options.buildId };
    bodyHtml = `<script type="application/json" id="__vc_boot">${scriptJson(data)}</script>` +
      `<script type="module" src="${url(bundle.client)}"></script>`;
  }
  html = insertAt(html, html.indexOf("</head>"), headHtml);
  html = insertAt(html, html.lastIndexOf("</body>"), bodyHtml);
  return `<!DOCTYPE html>${html}`;
}

/** A layer as a tree node: async components are called and awaited now, others rendered later. */
async function element(layer: PageComponent, props: PageProps): Promise<ComponentChildren> {
  if (layer.constructor.name === "AsyncFunction") return await layer(props);
  return h(layer as ComponentType<PageProps>, props);
}

/** JSON that is safe inside an inline `<script>`: `<` is escaped, so no `</script` or `<!--`. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c");
}

/** Inserts `insert` at index `at` of `html`, or appends it when `at` is -1. */
function insertAt(html: string, at: number, insert: string): string {
  return at === -1 ? html + insert : html.slice(0, at) + insert + html.slice(at);
}
