/**
 * Files from `static/`, served at the same path (`static/styles.css` → `/styles.css`).
 *
 * The directory is indexed once at startup (names starting with `.` are skipped), and a request
 * is answered only when its decoded path is a key of that index, so no request path ever
 * reaches the file system: `..`, encoded dots, backslashes and NUL cannot escape the directory.
 * Contents are kept in memory; with `dev` they are re-read (and re-hashed) on each request.
 *
 * @module
 */
import { extname, join } from "node:path";
import { shortHash, walkFiles } from "./_fs.ts";
import { ASSET_QUERY } from "./runtime.ts";

/** Content types by file extension; anything else is `application/octet-stream`. */
export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".webmanifest": "application/manifest+json",
  ".html": "text/html; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".woff": "font/woff",
  ".wasm": "application/wasm",
};

/** `cache-control` of responses whose URL carries the current build id. */
export const IMMUTABLE = "public, max-age=31536000, immutable";

interface StaticFile {
  path: string;
  contentType: string;
  etag: string;
  contents?: Uint8Array<ArrayBuffer>;
}

/** The indexed files of one `static/` directory. */
export class StaticFiles {
  readonly #files: Map<string, StaticFile>;
  readonly #dev: boolean;
  /** A hash of every file's name and contents: the app's build id. */
  readonly hash: string;

  private constructor(files: Map<string, StaticFile>, hash: string, dev: boolean) {
    this.#files = files;
    this.hash = hash;
    this.#dev = dev;
  }

  /** Indexes `dir` (a missing directory has no files). */
  static async load(dir: string, dev = false): Promise<StaticFiles> {
    const files = new Map<string, StaticFile>();
    for (const relative of await walkFiles(dir)) {
      const path = join(dir, relative);
      const contents = await Deno.readFile(path);
      files.set(`/${relative}`, {
        path,
        contentType: CONTENT_TYPES[extname(relative).toLowerCase()] ?? "application/octet-stream",
        etag: `"${await shortHash(contents)}"`,
        contents: dev ? undefined : contents,
      });
    }
    const listing = [...files].map(([url, file]) => `${url} ${file.etag}`).join("\n");
    return new StaticFiles(files, await shortHash(listing), dev);
  }

  /** The URL paths served, e.g. `"/styles.css"`. */
  get paths(): string[] {
    return [...this.#files.keys()];
  }

  /** Whether the decoded URL `path` names a static file. */
  has(path: string): boolean {
    return this.#files.has(path);
  }

  /**
   * Answers `req` for the static file at `path` (see {@linkcode has}): GET and HEAD only, with
   * an ETag and `If-None-Match` support, immutable caching when the URL carries `buildId`.
   */
  async serve(req: Request, path: string, buildId: string): Promise<Response> {
    const file = this.#files.get(path);
    if (file === undefined) return new Response("Not Found", { status: 404 });
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("Method Not Allowed", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    let { contents, etag } = file;
    if (contents === undefined) {
      contents = await Deno.readFile(file.path);
      etag = `"${await shortHash(contents)}"`;
    }
    const versioned = new URL(req.url).searchParams.get(ASSET_QUERY) === buildId;
    const headers = new Headers({
      etag,
      "cache-control": versioned ? IMMUTABLE : "no-cache",
      "x-content-type-options": "nosniff",
    });
    if (matchesEtag(req.headers.get("if-none-match"), etag)) {
      return new Response(null, { status: 304, headers });
    }
    headers.set("content-type", file.contentType);
    headers.set("content-length", String(contents.byteLength));
    return new Response(req.method === "HEAD" ? null : contents, { headers });
  }
}

function matchesEtag(header: string | null, etag: string): boolean {
  if (header === null) return false;
  return header.split(",").some((tag) => {
    const trimmed = tag.trim();
    return trimmed === "*" || trimmed.replace(/^W\//, "") === etag;
  });
}
