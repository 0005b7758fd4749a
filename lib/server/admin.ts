/**
 * The admin API: operations an operator's tooling calls with `ADMIN_TOKEN` as a bearer token.
 * Without the setting there is no admin API (404).
 *
 * - `POST /api/v1/admin/drain` (202): the instance hands its sessions to the rest of the cluster
 *   and stops (docs/ARCHITECTURE.md, "Drain"); 409 when no other instance is alive to take them.
 *
 * @module
 */
import { errorResponse } from "./router.ts";

/** What the admin API acts on. */
export interface AdminOptions {
  /** The bearer token; undefined: no admin API. */
  token: string | undefined;
  /** Sessions here and other live instances now. */
  state(): { sessions: number; others: number; draining: boolean };
  /** Starts the drain (and the stop after it); does not wait for it. */
  drain(): void;
}

/** The path of the drain operation. */
export const DRAIN_PATH = "/api/v1/admin/drain";

/** The admin routes; undefined for any other path. */
export function adminRoute(
  options: AdminOptions,
  request: Request,
  url: URL,
): Promise<Response> | undefined {
  if (!url.pathname.startsWith("/api/v1/admin/")) return undefined;
  return Promise.resolve(handle(options, request, url));
}

function handle(options: AdminOptions, request: Request, url: URL): Response {
  if (options.token === undefined) {
    return errorResponse(404, "no_admin_api", "This server has no admin API (set ADMIN_TOKEN)");
  }
  if (!bearerMatches(request.headers.get("authorization"), options.token)) {
    return errorResponse(401, "unauthorized", "The admin API needs the ADMIN_TOKEN bearer token");
  }
  if (url.pathname !== DRAIN_PATH) {
    return errorResponse(404, "not_found", `Nothing at ${url.pathname.slice(0, 200)}`);
  }
  if (request.method !== "POST") {
    return errorResponse(405, "method_not_allowed", `${request.method} is not allowed here`);
  }
  const state = options.state();
  if (state.draining) return Response.json({ success: true, result: state }, { status: 202 });
  if (state.others === 0) {
    return errorResponse(
      409,
      "no_other_instance",
      "No other instance is alive to take the sessions; stop this one instead",
    );
  }
  options.drain();
  return Response.json({ success: true, result: { ...state, draining: true } }, { status: 202 });
}

// Compares in time independent of where the strings differ.
function bearerMatches(header: string | null, token: string): boolean {
  const given = header?.startsWith("Bearer ") ? header.slice(7) : "";
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(token);
  let difference = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) difference |= (a[i] ?? 0) ^ b[i];
  return difference === 0;
}
