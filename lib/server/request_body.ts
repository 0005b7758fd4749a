/**
 * Request bodies read with a bound: a declared length above the limit is refused before a byte
 * is read, and a chunked body is counted while it arrives and abandoned the moment it passes the
 * limit — memory never holds more than the limit, whatever a client sends. JSON bodies must say
 * so (`content-type: application/json`): a browser cannot send that cross-site without a CORS
 * preflight, which is what keeps a hostile page from posting to our API with a visitor's cookie
 * (docs/SECURITY.md, "Requests from other sites").
 *
 * @example
 * ```ts
 * import { readJsonObject } from "./request_body.ts";
 *
 * const request = new Request("http://x/api", {
 *   method: "POST",
 *   headers: { "content-type": "application/json" },
 *   body: '{"user_id":"ada"}',
 * });
 * const read = await readJsonObject(request, 1024);
 * if (!read.ok || read.value.user_id !== "ada") throw new Error(JSON.stringify(read));
 * ```
 *
 * @module
 */
import { concatBytes } from "../protocol/bytes.ts";

/** Why a body was refused: an HTTP status, a stable code and a sentence for people. */
export interface BodyRefusal {
  ok: false;
  status: 400 | 413 | 415;
  code: "body_too_large" | "unsupported_media_type" | "bad_request";
  message: string;
}

/** A body's bytes, or the refusal. */
export type BodyBytes = { ok: true; value: Uint8Array } | BodyRefusal;

/** A body's JSON object (an empty body reads as `{}`), or the refusal. */
export type BodyObject = { ok: true; value: Record<string, unknown> } | BodyRefusal;

function tooLarge(maxBytes: number): BodyRefusal {
  return {
    ok: false,
    status: 413,
    code: "body_too_large",
    message: `The body is larger than ${maxBytes} bytes`,
  };
}

/** Reads at most `maxBytes` of `request`'s body; more is refused (413) without being kept. */
export async function readBodyBytes(request: Request, maxBytes: number): Promise<BodyBytes> {
  const declared = request.headers.get("content-length");
  if (declared !== null && !(Number(declared) <= maxBytes)) return tooLarge(maxBytes);
  if (request.body === null) return { ok: true, value: new Uint8Array(0) };
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > maxBytes) {
        chunks.length = 0;
        await reader.cancel().catch(() => {});
        return tooLarge(maxBytes);
      }
      chunks.push(value);
    }
  } catch {
    return { ok: false, status: 400, code: "bad_request", message: "The body could not be read" };
  }
  return { ok: true, value: concatBytes(chunks, size) };
}

/** Whether a content type names JSON (`application/json`, parameters allowed). */
export function isJsonContentType(value: string | null): boolean {
  return value !== null && value.split(";")[0].trim().toLowerCase() === "application/json";
}

/**
 * Reads a JSON object body of at most `maxBytes`. An empty body is `{}`; a non-empty one must
 * declare `content-type: application/json` (415 otherwise), be UTF-8 JSON and an object (400).
 */
export async function readJsonObject(request: Request, maxBytes: number): Promise<BodyObject> {
  const empty = request.body === null || request.headers.get("content-length") === "0";
  if (!empty && !isJsonContentType(request.headers.get("content-type"))) {
    // Refused before reading: nothing of it is kept.
    await request.body?.cancel().catch(() => {});
    return {
      ok: false,
      status: 415,
      code: "unsupported_media_type",
      message: "Send the body as JSON, with content-type: application/json",
    };
  }
  const read = await readBodyBytes(request, maxBytes);
  if (!read.ok) return read;
  if (read.value.length === 0) return { ok: true, value: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(read.value));
  } catch {
    return { ok: false, status: 400, code: "bad_request", message: "The body is not valid JSON" };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return {
      ok: false,
      status: 400,
      code: "bad_request",
      message: "The body must be a JSON object",
    };
  }
  return { ok: true, value: parsed as Record<string, unknown> };
}
