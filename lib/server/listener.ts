/**
 * The HTTP side's listeners: `Deno.serve` on `PORT`, plain or — with `HTTPS=on` — TLS with
 * `CERT_PATH`/`KEY_PATH`, watched like WebTransport's certificate (`CertificateManager`, file
 * mode): when the files change, a listener with the new pair starts on the same port
 * (`reusePort`) and the old one shuts down, so new connections get the new certificate. Deno
 * cannot stop a listener without closing its upgraded WebSockets: calls in progress are closed
 * with 1001 and resume their sessions at once (the client library reconnects with `resume`), so
 * nobody sees a leave. With `HTTP_REDIRECT_PORT`, a plain listener there sends every request to
 * the HTTPS origin (308).
 *
 * @module
 */
import { CertificateManager } from "../relay/certificate_manager.ts";
import type { Logger } from "../log.ts";
import type { ServerConfig } from "./config.ts";

type Handler = (request: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>;

/** The running listeners. */
export interface Listeners {
  /** The port HTTP(S) and WebSocket listen on. */
  port: number;
  /** The plain-HTTP redirect's port, when it runs. */
  redirectPort: number | undefined;
  /** Stops accepting and waits for open requests, at most `graceMs`. */
  shutdown(graceMs: number): Promise<void>;
}

/** Starts serving `handler` as `config` says. Throws when the certificate files are unusable. */
export async function listen(
  config: Pick<ServerConfig, "port" | "host" | "https" | "certPath" | "keyPath"> & {
    httpRedirectPort?: number;
  },
  handler: Handler,
  log: Logger,
): Promise<Listeners> {
  let certificates: CertificateManager | undefined;
  let current: Deno.HttpServer<Deno.NetAddr>;
  const retired: Promise<void>[] = [];
  const tls = () => {
    const { certPem, keyPem } = certificates!.current();
    return { cert: certPem, key: keyPem, reusePort: true };
  };
  const serve = (port: number) => {
    const opened = Promise.withResolvers<number>();
    const server = Deno.serve({
      port,
      hostname: config.host,
      ...(certificates ? tls() : {}),
      onListen: ({ port }) => opened.resolve(port),
    }, handler);
    return { server, port: opened.promise };
  };
  if (config.https) {
    certificates = new CertificateManager({
      certPath: config.certPath,
      keyPath: config.keyPath,
      onChange: (cert) => {
        // The new pair on a new listener; the old one shuts down (its WebSockets resume anew).
        try {
          const next = serve(port).server;
          retired.push(current.shutdown());
          current = next;
          log.info("https_certificate_reloaded", { notAfter: cert.notAfter.toISOString() });
        } catch (error) {
          log.error("https_certificate_reload_failed", { error: String(error) });
        }
      },
      onError: (error) => log.warn("https_certificate_error", { error: error.message }),
    });
    await certificates.start();
  }
  const first = serve(config.port);
  current = first.server;
  const port = await first.port;
  let redirect: Deno.HttpServer<Deno.NetAddr> | undefined;
  let redirectPort: number | undefined;
  if (config.https && config.httpRedirectPort !== undefined) {
    const opened = Promise.withResolvers<number>();
    redirect = Deno.serve({
      port: config.httpRedirectPort,
      hostname: config.host,
      onListen: ({ port }) => opened.resolve(port),
    }, (request) => redirectToHttps(request, port));
    redirectPort = await opened.promise;
  }
  return {
    port,
    redirectPort,
    async shutdown(graceMs) {
      await certificates?.stop();
      const timeout = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        current.finished.then(() => clearTimeout(timer));
      });
      await Promise.race([
        Promise.all([current.shutdown(), redirect?.shutdown(), ...retired]),
        timeout,
      ]);
    },
  };
}

/**
 * The answer of the plain-HTTP redirect: 308 to the same host, path and query on HTTPS
 * (`httpsPort`, left out when it is 443).
 *
 * @example
 * ```ts
 * import { redirectToHttps } from "./listener.ts";
 *
 * const response = redirectToHttps(new Request("http://meet.example.org/meeting/a/b?x=1"), 443);
 * if (response.headers.get("location") !== "https://meet.example.org/meeting/a/b?x=1") {
 *   throw new Error(response.headers.get("location") ?? "no location");
 * }
 * ```
 */
export function redirectToHttps(request: Request, httpsPort: number): Response {
  const url = new URL(request.url);
  const target = new URL(url.pathname + url.search, `https://${url.hostname}`);
  if (httpsPort !== 443) target.port = String(httpsPort);
  return new Response(null, { status: 308, headers: { location: target.href } });
}
