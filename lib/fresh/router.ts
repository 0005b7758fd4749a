/**
 * File-system route patterns and their matcher: pure logic, no I/O.
 *
 * A route file's path below `routes/` becomes a list of segments: `about` (static), `[id]`
 * (one segment, `params.id`) and `[...rest]` (the remaining zero or more segments joined by
 * `/`, `params.rest`; last only). `(group)` directories and a final `index` add nothing.
 * When several routes match, static segments beat parameters, and parameters beat catch-alls,
 * comparing from the left.
 *
 * @example
 * ```ts
 * import { Router, routeSegments, splitPath } from "./router.ts";
 *
 * const router = new Router<string>();
 * router.add(routeSegments("users/[id]"), "user");
 * router.add(routeSegments("(admin)/users/new"), "new-user");
 * const match = router.match(splitPath("/users/ada%20l"));
 * if (match?.value !== "user" || match.params.id !== "ada l") throw new Error();
 * if (router.match(splitPath("/users/new"))?.value !== "new-user") throw new Error();
 * ```
 *
 * @module
 */
import { HttpError } from "./http_error.ts";

/** One segment of a route pattern. */
export type Segment =
  | { kind: "static"; value: string }
  | { kind: "param"; name: string }
  | { kind: "rest"; name: string };

/** A successful match. */
export interface RouteMatch<T> {
  value: T;
  /** Percent-decoded parameters. */
  params: Record<string, string>;
  /** The pattern, e.g. `"/users/:id"`. */
  pattern: string;
}

const RANK: Record<Segment["kind"], number> = { static: 0, param: 1, rest: 2 };
const PARAM_NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * The segments of a route file's path relative to `routes/`, without its extension.
 * Throws on a malformed segment such as `a[id]` or a catch-all that is not last.
 */
export function routeSegments(path: string): Segment[] {
  const parts = path.split("/").filter((part) => !/^\(.+\)$/.test(part));
  if (parts.at(-1) === "index") parts.pop();
  return parts.map((part, i): Segment => {
    const dynamic = /^\[(\.\.\.)?([^\]]*)\]$/.exec(part);
    if (dynamic === null) {
      if (/[[\]]/.test(part)) throw new Error(`Route segment "${part}" of "${path}" is malformed`);
      return { kind: "static", value: part };
    }
    const name = dynamic[2];
    if (!PARAM_NAME.test(name)) {
      throw new Error(`Route parameter "${name}" of "${path}" is not an identifier`);
    }
    if (dynamic[1] === undefined) return { kind: "param", name };
    if (i !== parts.length - 1) {
      throw new Error(`Catch-all segment "${part}" of "${path}" must be the last one`);
    }
    return { kind: "rest", name };
  });
}

/** The display pattern of `segments`, e.g. `"/users/:id"` or `"/files/:path*"`. */
export function patternOf(segments: readonly Segment[]): string {
  return "/" +
    segments.map((s) =>
      s.kind === "static" ? s.value : s.kind === "param" ? `:${s.name}` : `:${s.name}*`
    ).join("/");
}

/**
 * The percent-decoded, non-empty segments of a URL path (`/a//b/` → `["a", "b"]`).
 * Throws an `HttpError` 400 on malformed percent-encoding.
 */
export function splitPath(pathname: string): string[] {
  try {
    return pathname.split("/").filter((part) => part !== "").map(decodeURIComponent);
  } catch {
    throw new HttpError(400, "Malformed percent-encoding in the URL path");
  }
}

function compareSpecificity(a: readonly Segment[], b: readonly Segment[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    // A pattern that ends here is more specific than one that continues.
    const ra = i < a.length ? RANK[a[i].kind] : -1;
    const rb = i < b.length ? RANK[b[i].kind] : -1;
    if (ra !== rb) return ra - rb;
  }
  return 0;
}

/** Ordered route patterns, matched first-to-last by specificity. */
export class Router<T> {
  #routes: { segments: Segment[]; pattern: string; value: T }[] = [];

  /** Adds a route; throws if another route has the same pattern. */
  add(segments: Segment[], value: T): void {
    const pattern = patternOf(segments);
    // Parameter names do not matter: `/a/:x` and `/a/:y` answer the same paths.
    const key = (p: string) => p.replace(/:[^/*]+/g, ":");
    if (this.#routes.some((r) => key(r.pattern) === key(pattern))) {
      throw new Error(`Two routes answer the same path pattern "${pattern}"`);
    }
    this.#routes.push({ segments, pattern, value });
    this.#routes.sort((a, b) =>
      compareSpecificity(a.segments, b.segments) || a.pattern.localeCompare(b.pattern)
    );
  }

  /** The patterns, most specific first. */
  get patterns(): string[] {
    return this.#routes.map((r) => r.pattern);
  }

  /** The most specific route matching the decoded `path` segments, or `null`. */
  match(path: readonly string[]): RouteMatch<T> | null {
    for (const route of this.#routes) {
      const params = matchSegments(route.segments, path);
      if (params !== null) return { value: route.value, params, pattern: route.pattern };
    }
    return null;
  }
}

function matchSegments(
  segments: readonly Segment[],
  path: readonly string[],
): Record<string, string> | null {
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    if (segment.kind === "rest") {
      params[segment.name] = path.slice(i).join("/");
      return params;
    }
    if (i >= path.length) return null;
    if (segment.kind === "static" && segment.value !== path[i]) return null;
    if (segment.kind === "param") params[segment.name] = path[i];
  }
  return segments.length === path.length ? params : null;
}
