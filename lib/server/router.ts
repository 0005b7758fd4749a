/**
 * The HTTP entry point: one small dispatcher for the media endpoint and the operational ones.
 *
 * | method and path | answer |
 * |---|---|
 * | `GET /lobby/<user>/<room>` | WebSocket upgrade into the room (videocall-rs URL) |
 * | `GET /healthz` | 200 while the process serves |
 * | `GET /readyz` | 200 when the bus is connected and sessions are accepted, else 503 |
 * | `GET /version` | name, version, instance id and bus kind as JSON |
 * | `GET /metrics` | Prometheus text |
 * | `GET /api/v1/webtransport` | where and how to connect by WebTransport (URL, certificate hashes) |
 *
 * Errors are JSON: `{"success": false, "result": {"code": "...", "message": "..."}}`.
 *
 * @module
 */
import { validateId } from "../protocol/ids.ts";
import type { Logger } from "../log.ts";
import type { Relay } from "../relay/relay.ts";
import { acceptWebSocket } from "../relay/websocket.ts";

/** What `GET /api/v1/webtransport` answers. */
export type WebTransportInfo =
  | { available: true; url: string; certificateHashes: string[] }
  | { available: false; reason: string };

/** What the router needs. */
export interface RouterOptions {
  relay: Relay;
  log: Logger;
  version: string;
  /** WebTransport details for a request that reached us under `hostname`. */
  webTransport: (hostname: string) => WebTransportInfo;
}

/** A JSON error response. */
export function errorResponse(status: number, code: string, message: string): Response {
  return Response.json({ success: false, result: { code, message } }, { status });
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function parseResume(value: string | null): bigint | undefined | "invalid" {
  if (value === null || value === "") return undefined;
  if (!/^[0-9]{1,20}$/.test(value)) return "invalid";
  const id = BigInt(value);
  return id > 0n && id < 1n << 64n ? id : "invalid";
}

/** Makes the request handler for `Deno.serve`. */
export function createRouter(options: RouterOptions): (request: Request) => Response {
  const { relay, log, version } = options;
  return (request: Request): Response => {
    const url = new URL(request.url);
    const path = url.pathname;
    if (path.startsWith("/lobby/")) return lobby(request, url);
    if (request.method !== "GET" && request.method !== "HEAD") {
      if (["/healthz", "/readyz", "/version", "/metrics", "/api/v1/webtransport"].includes(path)) {
        return errorResponse(
          405,
          "method_not_allowed",
          `${request.method} is not allowed on ${path}`,
        );
      }
    }
    switch (path) {
      case "/healthz":
        return new Response("ok\n");
      case "/readyz":
        if (!relay.accepting) return new Response("shutting down\n", { status: 503 });
        if (!relay.bus.isConnected()) return new Response("bus disconnected\n", { status: 503 });
        return new Response("ready\n");
      case "/version":
        return Response.json({
          name: "videocall.ts",
          version,
          instance: relay.instanceId,
          bus: relay.bus.kind,
          deno: Deno.version.deno,
        });
      case "/metrics":
        return new Response(relay.metrics.registry.render(), {
          headers: { "content-type": "text/plain; version=0.0.4" },
        });
      case "/api/v1/webtransport":
        return Response.json(options.webTransport(url.hostname), {
          headers: { "cache-control": "no-store" },
        });
      default:
        return errorResponse(404, "not_found", `Nothing at ${path}`);
    }
  };

  function lobby(request: Request, url: URL): Response {
    const reject = (status: number, code: string, message: string) => {
      relay.metrics.rejected.inc(code);
      log.info("connection_rejected", { path: url.pathname.slice(0, 200), code });
      return errorResponse(status, code, message);
    };
    if (request.method !== "GET") {
      return reject(405, "method_not_allowed", "Use GET with a WebSocket upgrade");
    }
    const segments = url.pathname.split("/").slice(2);
    if (segments.length !== 2) {
      return reject(400, "bad_path", "The path must be /lobby/<user>/<room>");
    }
    const rawUser = decodeSegment(segments[0]);
    const rawRoom = decodeSegment(segments[1]);
    if (rawUser === undefined || rawRoom === undefined) {
      return reject(400, "bad_path", "The path has invalid percent-encoding");
    }
    const user = validateId("user id", rawUser);
    if (!user.ok) return reject(400, "invalid_user_id", user.reason);
    const room = validateId("room id", rawRoom);
    if (!room.ok) return reject(400, "invalid_room_id", room.reason);
    const resume = parseResume(url.searchParams.get("resume"));
    if (resume === "invalid") {
      return reject(400, "invalid_resume", "resume must be a session id (a positive integer)");
    }
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return reject(426, "upgrade_required", "This endpoint speaks WebSocket only");
    }
    if (!relay.accepting) return reject(503, "shutting_down", "The server is shutting down");
    return acceptWebSocket(
      request,
      relay,
      { userId: user.id, roomId: room.id, resumeSessionId: resume },
      log,
    );
  }
}
