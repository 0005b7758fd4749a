/**
 * {@linkcode HttpError}: an error that carries the HTTP status to answer with.
 *
 * @module
 */

/**
 * Thrown from a handler, middleware or component to answer with `status`. The response is
 * rendered by `routes/_404.tsx` (for 404, when present) or `routes/_error.tsx`, which receive
 * the error as `props.error`. Its message is meant for the client; other errors answer 500
 * and their message stays in the server log.
 *
 * @example
 * ```ts
 * import { HttpError } from "fresh";
 *
 * const error = new HttpError(404, "No meeting with this id");
 * if (error.status !== 404 || error.name !== "HttpError") throw new Error();
 * ```
 */
export class HttpError extends Error {
  /** The HTTP status code, 400 to 599. */
  readonly status: number;

  /**
   * @param status An HTTP error status (400 to 599).
   * @param message Shown to the client; defaults to the status text, e.g. `"Not Found"`.
   * @param options Standard error options such as `cause`.
   */
  constructor(status: number, message?: string, options?: ErrorOptions) {
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError(`HTTP error status must be an integer from 400 to 599, got ${status}`);
    }
    super(message ?? STATUS_TEXT[status] ?? `HTTP ${status}`, options);
    this.name = "HttpError";
    this.status = status;
  }
}

/** Reason phrases of the error statuses this layer answers itself. */
export const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  418: "I'm a teapot",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
};
