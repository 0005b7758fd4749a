/**
 * The only shape of URL an instance may announce as its public address on the bus, and a page
 * may be sent to or allowed to connect to: `http(s)://`, a host name of letters, digits, dots
 * and hyphens or a bracketed IPv6 address, an optional port, an optional plain path. Anything
 * else — `;`, `,`, spaces, quotes, credentials, queries — could change a Content-Security-Policy
 * it is written into or hide where it leads (docs/SECURITY.md, "Requests from other sites").
 *
 * @example
 * ```ts
 * import { isPlainHttpUrl } from "./public_url.ts";
 *
 * if (!isPlainHttpUrl("https://meet.example.org:8443/")) throw new Error();
 * if (isPlainHttpUrl("https://x;sandbox")) throw new Error("a CSP directive in a host");
 * if (isPlainHttpUrl("https://user@meet.example.org")) throw new Error("credentials");
 * ```
 *
 * @module
 */

const PLAIN_HTTP_URL =
  /^https?:\/\/(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?(?:\/[A-Za-z0-9._~\/-]*)?$/;

/** Whether `url` is a plain `http(s)://host[:port][/path]` URL (see the module's doc). */
export function isPlainHttpUrl(url: string): boolean {
  return url.length <= 200 && PLAIN_HTTP_URL.test(url);
}
