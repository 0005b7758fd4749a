/**
 * What a browser needs to be told so that other sites cannot use our pages or our visitors'
 * credentials: which page origins may open media connections and call the API (the `Origin`
 * check), and the headers every page carries (a Content-Security-Policy the islands run under,
 * no framing by other sites, no referrer leaving the site, no MIME sniffing). Requests without an
 * `Origin` header come from programs, not from a page in a browser, and are not refused for it.
 * docs/SECURITY.md, "Requests from other sites", says why each is there.
 *
 * @example
 * ```ts
 * import { OriginPolicy } from "./web_security.ts";
 *
 * const policy = new OriginPolicy({ publicUrl: "https://meet.example.org", allowedOrigins: [] });
 * const from = (origin: string) =>
 *   new Request("http://10.0.0.5:8080/lobby/a/b", { headers: { origin, host: "10.0.0.5:8080" } });
 * if (!policy.allows(from("https://meet.example.org"))) throw new Error("the public origin");
 * if (!policy.allows(from("http://10.0.0.5:8080"))) throw new Error("the server's own origin");
 * if (policy.allows(from("https://evil.example"))) throw new Error("another site");
 * ```
 *
 * @module
 */

import { isPlainHttpUrl } from "../protocol/public_url.ts";

/** Where pages may come from. */
export interface OriginOptions {
  /** The URL people open; empty when not configured. */
  publicUrl: string;
  /** More origins whose pages may connect. */
  allowedOrigins: readonly string[];
}

/** Decides whether a request made by a page comes from an origin we serve. */
export class OriginPolicy {
  readonly #allowed: Set<string>;

  constructor(options: OriginOptions) {
    this.#allowed = new Set(options.allowedOrigins);
    if (options.publicUrl !== "") this.#allowed.add(new URL(options.publicUrl).origin);
  }

  /**
   * True when `request` has no `Origin` (not from a page), or its origin is the public URL's, a
   * listed one, or the server's own (the origin's host is the `Host` the request was sent to).
   */
  allows(request: Request): boolean {
    const origin = request.headers.get("origin");
    if (origin === null) return true;
    if (this.#allowed.has(origin)) return true;
    let host: string;
    try {
      host = new URL(origin).host;
    } catch {
      return false; // "null" (sandboxed frames, file pages) and garbage
    }
    const target = request.headers.get("host") ?? new URL(request.url).host;
    return host === target;
  }
}

/**
 * The Content-Security-Policy of our pages. Scripts only from our origin (the islands' boot data
 * is JSON, not script) and `blob:` (the audio worklets are built in the page), and WebAssembly
 * compiled by those scripts (`'wasm-unsafe-eval'`, not JavaScript eval: protobufjs's 64-bit
 * integers try a tiny module, and Firefox reports the refusal as a page error); styles
 * from our origin plus inline `style` attributes (tiles are placed with them); connections to our
 * host on any port (WebSocket, and WebTransport on its UDP port); media and images from blobs
 * and data URLs; no plugins, no framing by anyone, forms post only to us. `poolOrigins` are the
 * other instances of the server pool, which the page times before it joins (docs/ARCHITECTURE.md,
 * "The server pool"); only plain `http(s)://host[:port]` origins are written (a host name holding
 * `;` would add a directive of its own).
 */
export function contentSecurityPolicy(
  hostname: string,
  poolOrigins: readonly string[] = [],
): string {
  const host = hostname.includes(":") && !hostname.startsWith("[") ? `[${hostname}]` : hostname;
  const pool = new Set<string>();
  for (const url of poolOrigins) {
    if (isPlainHttpUrl(url)) pool.add(new URL(url).origin);
  }
  return [
    "default-src 'self'",
    "script-src 'self' blob: 'wasm-unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    [`connect-src 'self' https://${host}:* wss://${host}:* ws://${host}:*`, ...pool].join(" "),
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/**
 * Adds the page security headers to `response` (HTML gets the CSP; everything the rest);
 * `poolOrigins` as for {@linkcode contentSecurityPolicy}.
 */
export function withSecurityHeaders(
  response: Response,
  hostname: string,
  https: boolean,
  poolOrigins: readonly string[] = [],
): Response {
  let headers: Headers;
  try {
    headers = response.headers;
    headers.set("x-content-type-options", "nosniff");
  } catch {
    // Immutable headers (a fetched or redirected response): copy it.
    response = new Response(response.body, response);
    headers = response.headers;
    headers.set("x-content-type-options", "nosniff");
  }
  headers.set("referrer-policy", "no-referrer");
  headers.set("x-frame-options", "DENY");
  if (headers.get("content-type")?.startsWith("text/html")) {
    headers.set("content-security-policy", contentSecurityPolicy(hostname, poolOrigins));
    headers.set("permissions-policy", "camera=(self), microphone=(self), display-capture=(self)");
  }
  if (https) headers.set("strict-transport-security", "max-age=31536000");
  return response;
}
