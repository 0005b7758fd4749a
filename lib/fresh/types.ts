/**
 * The shapes that route, layout, middleware and island files are written against; the same
 * names and meanings as in Fresh 2, so app code can move to `jsr:@fresh/core` unchanged.
 *
 * @module
 */
import type { ComponentChildren, ComponentType } from "preact";

/** HTTP methods a {@linkcode HandlerByMethod} may answer. */
export type Method = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS";

/** What a handler returns to render its route's component with `props.data`; see `page()`. */
export interface PageResponse<Data> {
  /** Passed to the page component as `props.data`. */
  data: Data;
  /** Response status. @default {200} */
  status?: number;
  /** Extra response headers. */
  headers?: HeadersInit;
}

/**
 * The per-request context given to handlers and middleware (Fresh 2's `FreshContext`).
 *
 * @typeParam State The type of {@linkcode Context.state}, shared by middleware and handlers.
 */
export interface Context<State = object> {
  /** The incoming request. */
  readonly req: Request;
  /** The parsed request URL. */
  readonly url: URL;
  /** Percent-decoded route parameters (`[id]` → `params.id`). */
  readonly params: Record<string, string>;
  /** State shared by the middleware chain and the handler of one request. */
  state: State;
  /** The matched route pattern, e.g. `"/users/:id"` or `"/files/:path*"`. */
  readonly route: string;
  /** The error being rendered, on error pages. */
  error?: unknown;
  /** Connection info from `Deno.serve`, when the caller passed it. */
  readonly info?: Deno.ServeHandlerInfo;
  /**
   * Runs the next middleware, or the route handler after the last one. Past the handler it
   * answers 404.
   */
  next(): Promise<Response>;
  /**
   * Renders `vnode` (or, without it, the route's component with no data) inside the route's
   * layouts and `_app`.
   */
  render(vnode?: ComponentChildren, init?: ResponseInit): Promise<Response>;
  /**
   * A redirect response. A protocol-relative location (`//host/x`) is reduced to a path, so
   * user input cannot turn it into an open redirect.
   *
   * @param location Where to send the client.
   * @param status A 3xx status. @default {302}
   */
  redirect(location: string, status?: number): Response;
}

/** Fresh 2's name for {@linkcode Context}. */
export type FreshContext<State = object> = Context<State>;

/** A handler function: answers a request with a Response or with page data. */
export type HandlerFn<Data = unknown, State = object> = (
  ctx: Context<State>,
) => Response | PageResponse<Data> | Promise<Response | PageResponse<Data>>;

/** Handlers by HTTP method; a missing method answers 405, and HEAD falls back to GET. */
export type HandlerByMethod<Data = unknown, State = object> = {
  [M in Method]?: HandlerFn<Data, State>;
};

/** A route's `handler` export: one function for every method, or one per method. */
export type Handler<Data = unknown, State = object> =
  | HandlerFn<Data, State>
  | HandlerByMethod<Data, State>;

/** Fresh 2's name for {@linkcode Handler}. */
export type RouteHandler<Data = unknown, State = object> = Handler<Data, State>;

/** A middleware: calls `ctx.next()` to continue, or answers on its own. */
export type Middleware<State = object> = (ctx: Context<State>) => Response | Promise<Response>;

/** The props of page, layout, `_app` and error components. */
export interface PageProps<Data = unknown, State = object> {
  /** The handler's page data (`undefined` without a handler). */
  data: Data;
  /** The parsed request URL. */
  url: URL;
  /** Percent-decoded route parameters. */
  params: Record<string, string>;
  /** The request state filled in by middleware. */
  state: State;
  /** The incoming request. */
  req: Request;
  /** On error pages: what was thrown (an `HttpError` or anything else). */
  error?: unknown;
  /** In `_app` and layouts: the inner content to render. In pages: renders nothing. */
  Component: ComponentType;
  /** The matched route pattern, e.g. `"/users/:id"`. */
  route: string;
}

/** A page, layout or `_app` component; it may be async (then it cannot use hooks). */
export type PageComponent<Data = unknown, State = object> = (
  props: PageProps<Data, State>,
) => ComponentChildren | Promise<ComponentChildren>;

/** A route file's optional `config` export. */
export interface RouteConfig {
  /** Render the page without the `_app.tsx` shell. @default {false} */
  skipAppWrapper?: boolean;
  /** Render the page without the `_layout.tsx` files of its parent directories. @default {false} */
  skipInheritedLayouts?: boolean;
}
