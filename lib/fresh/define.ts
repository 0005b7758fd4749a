/**
 * Typed identity helpers for route files: {@linkcode createDefine} and {@linkcode page}.
 *
 * @module
 */
import type { Handler, Middleware, PageComponent, PageResponse } from "./types.ts";

/** The page data type a handler produces: the union over its methods' `page(data)` results. */
export type HandlerData<H> = H extends (...args: never[]) => infer R
  ? Awaited<R> extends infer A ? A extends Response ? never : A extends PageResponse<infer D> ? D
    : never
  : never
  : { [K in keyof H]: HandlerData<H[K]> }[keyof H];

/** The data type of a page whose handler has type `H`, or `undefined` without a handler. */
export type PageData<H> = [H] extends [never] ? undefined : HandlerData<H>;

/** The helpers returned by {@linkcode createDefine}; each returns its argument unchanged. */
export interface Define<State> {
  /** Types a route's `handler`: a function, or an object of functions by method. */
  handlers<H extends Handler<unknown, State>>(handlers: H): H;
  /**
   * Types a page, layout or `_app` component. Pass `typeof handler` to type `props.data`, or
   * annotate the props yourself.
   */
  page<H extends Handler<unknown, State> = never, Data = PageData<H>>(
    component: PageComponent<Data, State>,
  ): PageComponent<Data, State>;
  /** Types a `_middleware.ts` handler, or an array of them. */
  middleware<M extends Middleware<State> | Middleware<State>[]>(middleware: M): M;
}

/**
 * Creates the typed `define` helpers for an app whose request state has type `State`.
 *
 * @example
 * ```tsx
 * import { createDefine, page } from "fresh";
 *
 * const define = createDefine<{ user?: string }>();
 * export const handler = define.handlers({
 *   GET(ctx) {
 *     return page({ name: ctx.state.user ?? "guest" });
 *   },
 * });
 * export default define.page<typeof handler>(({ data }) => <p>Hello {data.name}</p>);
 * ```
 */
export function createDefine<State = object>(): Define<State> {
  return {
    handlers: (handlers) => handlers,
    page: (component) => component,
    middleware: (middleware) => middleware,
  };
}

/**
 * Answers a request by rendering the route's component with `props.data = data`.
 *
 * @example
 * ```ts
 * import { page } from "fresh";
 *
 * const response = page({ room: "standup" }, { status: 201, headers: { "x-room": "standup" } });
 * if (response.status !== 201 || response.data.room !== "standup") throw new Error();
 * ```
 *
 * @param data Passed to the page component as `props.data`.
 * @param init The response status and extra headers.
 */
export function page<Data = undefined>(
  data?: Data,
  init: { status?: number; headers?: HeadersInit } = {},
): PageResponse<Data> {
  return { data: data as Data, status: init.status, headers: init.headers };
}
