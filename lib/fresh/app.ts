/**
 * {@linkcode createApp}: the request lifecycle of a Fresh-style app.
 *
 * 1. `/_fresh/js/<bundle id>/<file>`: a built browser chunk (building on first need), else 404.
 * 2. The path is split and percent-decoded (malformed → 400 error page).
 * 3. A file of `static/` at that path answers (see `static_files.ts`). A route with the same
 *    static path is refused at startup; a dynamic route never shadows a static file.
 * 4. The most specific route runs behind its middleware, outer to inner; without a match, the
 *    404 page runs behind the root middleware.
 * 5. The handler answers: a `Response` passes through; page data (`page(data)` or `{ data }`)
 *    renders the route's component. A route without handler renders on GET and HEAD. An
 *    unknown method answers 405 with `Allow`; HEAD falls back to GET and never has a body.
 * 6. Anything thrown is rendered by `_404` (for `HttpError` 404) or `_error` with its status:
 *    an `HttpError`'s own, else 500 after logging the error with `console.error` (the client
 *    never sees its message or stack).
 *
 * Static files and `/_fresh/js/` chunks run no middleware.
 *
 * Two content hashes version what browsers cache, so every server instance built from the same
 * sources agrees on URLs: `buildId` hashes the `static/` files (known at startup, used by
 * `asset()`), and the bundle id hashes the bundle outputs (known after the lazy build, used in
 * chunk URLs).
 *
 * @module
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { ComponentChildren } from "preact";
import { type BuildInfo, type Bundle, bundleIslands } from "./bundle.ts";
import { newerSource, PrebuiltBundleError, readPrebuilt } from "./prebuilt.ts";
import { loadRoutes, METHODS, type Route, type RouteTable } from "./fs_routes.ts";
import { HttpError, STATUS_TEXT } from "./http_error.ts";
import { type IslandModule, loadIslands } from "./islands.ts";
import { DefaultApp, JS_PREFIX, renderDocument } from "./render.ts";
import { splitPath } from "./router.ts";
import { IMMUTABLE, StaticFiles } from "./static_files.ts";
import type { Context, HandlerFn, Middleware, PageResponse } from "./types.ts";

export type { BuildInfo } from "./bundle.ts";

/** Fields of a log event. */
export type LogFields = Record<string, string | number | boolean>;

/** Options of {@linkcode createApp}. */
export interface AppOptions {
  /** The directory holding `routes/` and, optionally, `islands/` and `static/`. */
  root: string | URL;
  /** Receives `fresh_build` and `fresh_build_failed` events. @default {no logging} */
  log?: (event: string, fields: LogFields) => void;
  /** Unminified bundle with inline source maps; static files re-read per request. @default {false} */
  dev?: boolean;
  /**
   * The browser bundle `deno task build` wrote ahead of time (lib/fresh/prebuilt.ts): `"auto"`
   * serves `prebuiltDir` when it holds a build and bundles on demand otherwise; `"off"` always
   * bundles on demand (development); `"required"` serves `prebuiltDir` and fails at start
   * without it (hosts without `Deno.bundle`). @default {"off"}
   */
  prebuilt?: "auto" | "off" | "required";
  /** Where the prebuilt bundle is. @default {"<root>/_fresh"} */
  prebuiltDir?: string;
}

/** A loaded app. */
export interface FreshApp {
  /** A hash of the `static/` files, appended by `asset()` as `?__vc_c=<buildId>`. */
  readonly buildId: string;
  /** Answers any request: routes, static files, built chunks, 404 page. Never rejects. */
  handler(req: Request, info?: Deno.ServeHandlerInfo): Promise<Response>;
  /**
   * Bundles the islands for the browser, once: later calls return the same result. Called
   * by the first request that needs it; call it at startup to fail early.
   */
  build(): Promise<BuildInfo>;
}

/**
 * Loads the app below `options.root`: imports every route and island module and indexes the
 * static files. Throws on a malformed route tree.
 *
 * @example
 * ```ts ignore
 * import { createApp } from "fresh";
 *
 * const app = await createApp({ root: new URL(".", import.meta.url) });
 * Deno.serve((req, info) => app.handler(req, info));
 * ```
 */
export async function createApp(options: AppOptions): Promise<FreshApp> {
  const root = options.root instanceof URL ? fileURLToPath(options.root) : resolve(options.root);
  const routes = await loadRoutes(`${root}/routes`);
  const islands = await loadIslands(`${root}/islands`);
  const statics = await StaticFiles.load(`${root}/static`, options.dev);
  for (const path of statics.paths) {
    const route = routes.router.match(splitPath(path));
    if (route !== null && !route.pattern.includes(":")) {
      throw new Error(`static${path} and routes/${route.value.file} both answer "${path}"`);
    }
  }
  const app = new App(routes, islands, statics, options);
  const mode = options.prebuilt ?? "off";
  let prebuilt = false;
  if (mode !== "off") {
    const dir = options.prebuiltDir ?? `${root}/_fresh`;
    let bundle = await readPrebuilt(dir, islands);
    const changed = bundle && await newerSource(root, dir);
    if (changed) {
      // Edited since the build: in auto mode, bundle the current code when this Deno can.
      const canBundle = typeof (Deno as { bundle?: unknown }).bundle === "function";
      options.log?.("fresh_prebuilt_stale", {
        changed,
        dir,
        action: mode === "auto" && canBundle ? "bundling on demand" : "serving it anyway",
      });
      if (mode === "auto" && canBundle) bundle = undefined;
    }
    if (bundle === undefined && mode === "required") {
      throw new PrebuiltBundleError(
        `No prebuilt browser bundle in ${dir} (PREBUILT_BUNDLE=required). Run \`deno task build\`.`,
      );
    }
    if (bundle !== undefined) {
      app.usePrebuilt(bundle);
      prebuilt = true;
      options.log?.("fresh_prebuilt", {
        bundle_id: bundle.info.bundleId,
        dir,
        bytes: bundle.info.totalBytes,
        files: bundle.info.files.length,
      });
    }
  }
  if (!prebuilt && typeof (Deno as { bundle?: unknown }).bundle !== "function") {
    options.log?.("fresh_no_bundler", {
      message: "Deno.bundle is not available (--unstable-bundle) and no prebuilt bundle was " +
        "found: pages with islands answer 500 until `deno task build` has run",
    });
  }
  return app;
}

class App implements FreshApp {
  readonly buildId: string;
  #bundle?: Promise<Bundle>;

  constructor(
    readonly routes: RouteTable,
    readonly islands: IslandModule[],
    readonly statics: StaticFiles,
    readonly options: AppOptions,
  ) {
    this.buildId = statics.hash;
  }

  /** Serves `bundle` (read from a build) instead of bundling. */
  usePrebuilt(bundle: Bundle): void {
    this.#bundle = Promise.resolve(bundle);
  }

  bundle(): Promise<Bundle> {
    this.#bundle ??= bundleIslands({ islands: this.islands, dev: this.options.dev }).then(
      (bundle) => {
        const { bundleId, durationMs, totalBytes, files } = bundle.info;
        this.options.log?.("fresh_build", {
          bundle_id: bundleId,
          duration_ms: durationMs,
          bytes: totalBytes,
          files: files.length,
        });
        return bundle;
      },
      (error: Error) => {
        this.options.log?.("fresh_build_failed", { error: error.message });
        console.error(error);
        throw error;
      },
    );
    return this.#bundle;
  }

  async build(): Promise<BuildInfo> {
    return (await this.bundle()).info;
  }

  async handler(req: Request, info?: Deno.ServeHandlerInfo): Promise<Response> {
    const ctx = new RequestContext(this, req, info);
    let response: Response;
    try {
      response = await this.#respond(ctx);
    } catch (error) {
      response = await this.renderError(ctx, error);
    }
    if (req.method === "HEAD" && response.body !== null) {
      await response.body.cancel();
      response = new Response(null, response);
    }
    return response;
  }

  async #respond(ctx: RequestContext): Promise<Response> {
    const { pathname } = ctx.url;
    if (pathname.startsWith(JS_PREFIX)) return await this.#serveChunk(ctx.req, pathname);
    const path = splitPath(pathname);
    const staticPath = `/${path.join("/")}`;
    if (this.statics.has(staticPath)) {
      return await this.statics.serve(ctx.req, staticPath, this.buildId);
    }
    const match = this.routes.router.match(path);
    const route = match?.value ?? this.routes.notFound;
    ctx.params = match?.params ?? {};
    ctx.route = match?.pattern ?? "";
    ctx.current = route;
    const final: Middleware = match === null
      ? () => this.renderError(ctx, new HttpError(404))
      : () => this.#runHandler(ctx, route);
    return await ctx.run([...route.middleware, final], 0);
  }

  async #serveChunk(req: Request, pathname: string): Promise<Response> {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("Method Not Allowed", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    const [bundleId, ...rest] = splitPath(pathname.slice(JS_PREFIX.length));
    const bundle = await this.bundle();
    const contents = bundleId === bundle.info.bundleId
      ? bundle.files.get(rest.join("/"))
      : undefined;
    if (contents === undefined) return new Response("Not Found", { status: 404 });
    return new Response(contents, {
      headers: { "content-type": "text/javascript; charset=utf-8", "cache-control": IMMUTABLE },
    });
  }

  async #runHandler(ctx: RequestContext, route: Route): Promise<Response> {
    const method = ctx.req.method;
    let fn: HandlerFn | undefined;
    let allowed = ["GET", "HEAD"];
    if (typeof route.handler === "function") {
      fn = route.handler;
    } else if (route.handler !== undefined) {
      const handlers = route.handler;
      fn = handlers[method as keyof typeof handlers] ??
        (method === "HEAD" ? handlers.GET : undefined);
      allowed = METHODS.filter((m) => handlers[m] !== undefined || (m === "HEAD" && handlers.GET));
    } else if (method === "GET" || method === "HEAD") {
      return await ctx.render();
    }
    if (fn === undefined) {
      return new Response("Method Not Allowed", {
        status: 405,
        headers: { allow: allowed.join(", ") },
      });
    }
    const result: unknown = await fn(ctx);
    if (result instanceof Response) return result;
    if (typeof result === "object" && result !== null && "data" in result) {
      const { data, status, headers } = result as PageResponse<unknown>;
      return await this.renderPage(ctx, route, data, undefined, { status, headers });
    }
    throw new Error(
      `The handler of routes/${route.file} returned neither a Response nor page data`,
    );
  }

  async renderPage(
    ctx: RequestContext,
    route: Route,
    data: unknown,
    content: ComponentChildren | undefined,
    init: ResponseInit = {},
  ): Promise<Response> {
    if (content === undefined && route.component === undefined) {
      throw new Error(`routes/${route.file} has no default export to render`);
    }
    const layers = [
      ...(route.config.skipAppWrapper ? [] : [this.routes.app ?? DefaultApp]),
      ...(route.config.skipInheritedLayouts ? [] : route.layouts),
      ...(content === undefined ? [route.component!] : []),
    ];
    const html = await renderDocument({
      layers,
      content,
      props: {
        data,
        url: ctx.url,
        params: ctx.params,
        state: ctx.state,
        req: ctx.req,
        error: ctx.error,
        route: ctx.route,
      },
      buildId: this.buildId,
      bundle: () =>
        this.bundle().catch(() => {
          throw new HttpError(500, "The browser bundle failed to build; see the server log");
        }),
    });
    const headers = new Headers(init.headers);
    if (!headers.has("content-type")) headers.set("content-type", "text/html; charset=utf-8");
    return new Response(html, { status: init.status ?? 200, headers });
  }

  async renderError(ctx: RequestContext, error: unknown): Promise<Response> {
    const status = error instanceof HttpError ? error.status : 500;
    if (!(error instanceof HttpError)) {
      console.error(`Error answering ${ctx.req.method} ${ctx.url.pathname}:`, error);
    }
    const page = status === 404 && this.routes.notFound.component
      ? this.routes.notFound
      : this.routes.error;
    if (page?.component !== undefined) {
      ctx.error = error;
      try {
        return await this.renderPage(ctx, page, undefined, undefined, { status });
      } catch (pageError) {
        console.error(`Error rendering the error page routes/${page.file}:`, pageError);
      }
    }
    const text = error instanceof HttpError ? error.message : STATUS_TEXT[500];
    return new Response(text, {
      status,
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  }
}

/** The {@linkcode Context} of one request. */
class RequestContext implements Context<Record<string, unknown>> {
  readonly url: URL;
  params: Record<string, string> = {};
  state: Record<string, unknown> = {};
  route = "";
  error?: unknown;
  /** The route (or error page) being answered, for `render()`. */
  current?: Route;

  constructor(readonly app: App, readonly req: Request, readonly info?: Deno.ServeHandlerInfo) {
    this.url = new URL(req.url);
  }

  next(): Promise<Response> {
    return Promise.reject(new HttpError(404));
  }

  /** Runs `chain[index]`, with `next()` running the rest. */
  async run(chain: Middleware[], index: number): Promise<Response> {
    if (index >= chain.length) throw new HttpError(404);
    this.next = () => this.run(chain, index + 1);
    return await chain[index](this);
  }

  render(vnode?: ComponentChildren, init?: ResponseInit): Promise<Response> {
    return this.app.renderPage(
      this,
      this.current ?? this.app.routes.notFound,
      undefined,
      vnode,
      init,
    );
  }

  redirect(location: string, status = 302): Response {
    const target = location.startsWith("//") ? `/${location.replace(/^\/+/, "")}` : location;
    return new Response(null, { status, headers: { location: target } });
  }
}
