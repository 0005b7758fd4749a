/**
 * Loads `routes/` into a {@linkcode RouteTable}: every file is imported once, at startup, in
 * sorted order.
 *
 * - A route file (`.tsx`, `.ts`, `.jsx`, `.js`) exports a `default` component, a `handler`, or
 *   both, and optionally a `config` ({@linkcode RouteConfig}).
 * - `_app` (root only) is the HTML shell; `_layout` wraps the routes of its directory and
 *   below, outer to inner; `_middleware` (`handler` or `default`: a function or an array) runs
 *   for the routes of its directory and below, outer to inner.
 * - `_error` and `_404` (root only) render errors; they get the root layouts and `_app`, and the
 *   404 page also runs behind the root middleware.
 * - Other names starting with `_`, directories named `(_…)`, and test files are ignored.
 *
 * @module
 */
import { IGNORED_MODULE, MODULE_FILE, toFileUrl, walkFiles } from "./_fs.ts";
import { Router, routeSegments } from "./router.ts";
import type {
  Handler,
  HandlerByMethod,
  Method,
  Middleware,
  PageComponent,
  RouteConfig,
} from "./types.ts";

/** A page, API route, or error page, with everything that applies to it. */
export interface Route {
  /** The file below `routes/`, for messages. */
  file: string;
  component?: PageComponent;
  handler?: Handler;
  config: RouteConfig;
  /** Layouts of its directories, outer to inner. */
  layouts: PageComponent[];
  /** Middleware of its directories, outer to inner. */
  middleware: Middleware[];
}

/** All routes of an app. */
export interface RouteTable {
  router: Router<Route>;
  app?: PageComponent;
  /** `_404` (without `component` when the app has none), behind the root middleware. */
  notFound: Route;
  error?: Route;
}

/** The methods a handler object may define. */
export const METHODS: readonly Method[] = [
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "PATCH",
  "DELETE",
  "OPTIONS",
];

const SPECIAL = new Set(["_app", "_layout", "_middleware", "_error", "_404"]);

/** Imports the route files below `routesDir`. Throws on a malformed or conflicting file. */
export async function loadRoutes(routesDir: string): Promise<RouteTable> {
  const layouts = new Map<string, PageComponent>();
  const middleware = new Map<string, Middleware[]>();
  const specials = new Map<string, PageComponent>();
  const pending: { file: string; dir: string; mod: Record<string, unknown> }[] = [];

  for (const file of await walkFiles(routesDir)) {
    if (!MODULE_FILE.test(file) || IGNORED_MODULE.test(file)) continue;
    if (file.split("/").some((part) => part.startsWith("(_"))) continue;
    const parts = file.replace(MODULE_FILE, "").split("/");
    const name = parts.pop()!;
    const dir = parts.join("/");
    if (name.startsWith("_") && !SPECIAL.has(name)) continue;
    const mod: Record<string, unknown> = await import(toFileUrl(`${routesDir}/${file}`));
    if (name === "_middleware") {
      middleware.set(dir, middlewareOf(file, mod.handler ?? mod.default));
    } else if (name === "_layout") {
      layouts.set(dir, componentOf(file, mod.default, true)!);
    } else if (SPECIAL.has(name)) {
      if (dir !== "") throw new Error(`routes/${file}: ${name} is only supported in routes/`);
      specials.set(name, componentOf(file, mod.default, true)!);
    } else {
      pending.push({ file, dir, mod });
    }
  }

  const build = (file: string, dir: string, mod: Record<string, unknown>): Route => {
    const chain = ancestors(dir);
    return {
      file,
      component: componentOf(file, mod.default, false),
      handler: handlerOf(file, mod.handler),
      config: (mod.config ?? {}) as RouteConfig,
      layouts: chain.flatMap((d) => layouts.get(d) ?? []),
      middleware: chain.flatMap((d) => middleware.get(d) ?? []),
    };
  };

  const router = new Router<Route>();
  for (const { file, dir, mod } of pending) {
    const route = build(file, dir, mod);
    if (route.component === undefined && route.handler === undefined) {
      throw new Error(`routes/${file} exports neither a default component nor a handler`);
    }
    router.add(routeSegments(file.replace(MODULE_FILE, "")), route);
  }
  const root = (name: string) => build(name, "", { default: specials.get(name) });
  return {
    router,
    app: specials.get("_app"),
    notFound: root("_404"),
    error: specials.has("_error") ? root("_error") : undefined,
  };
}

/** `"a/b"` → `["", "a", "a/b"]`: a directory and its parents, outermost first. */
function ancestors(dir: string): string[] {
  const parts = dir === "" ? [] : dir.split("/");
  return ["", ...parts.map((_, i) => parts.slice(0, i + 1).join("/"))];
}

function componentOf(file: string, value: unknown, required: boolean): PageComponent | undefined {
  if (value === undefined && !required) return undefined;
  if (typeof value !== "function") {
    throw new Error(`routes/${file}: the default export must be a component function`);
  }
  return value as PageComponent;
}

function handlerOf(file: string, value: unknown): Handler | undefined {
  if (value === undefined || typeof value === "function") return value as Handler | undefined;
  if (typeof value === "object" && value !== null) {
    for (const [key, fn] of Object.entries(value)) {
      if (!METHODS.includes(key as Method) || typeof fn !== "function") {
        throw new Error(`routes/${file}: handler.${key} is not a handler for an HTTP method`);
      }
    }
    return value as HandlerByMethod;
  }
  throw new Error(`routes/${file}: handler must be a function or an object of methods`);
}

function middlewareOf(file: string, value: unknown): Middleware[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || list.some((fn) => typeof fn !== "function")) {
    throw new Error(`routes/${file} must export a middleware function (or an array) as handler`);
  }
  return list as Middleware[];
}
