/**
 * Private file-system helpers of the framework layer.
 *
 * @module
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/**
 * Paths (with `/` separators) of the files below `dir`, relative to it and sorted, skipping
 * names that start with `.`. A missing `dir` has no files. Symbolic links are not followed.
 */
export async function walkFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  const visit = async (relative: string): Promise<void> => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(join(dir, relative)));
    } catch (error) {
      if (relative === "" && error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    for (const entry of entries) {
      if (entry.name.startsWith(".")) continue;
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory) await visit(path);
      else if (entry.isFile) found.push(path);
    }
  };
  await visit("");
  return found.sort();
}

/** A short hex SHA-256 digest of `data`: 16 hex digits (64 bits). */
export async function shortHash(data: BufferSource | string): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Module file extensions the framework imports from `routes/` and `islands/`. */
export const MODULE_FILE = /\.(tsx|ts|jsx|js)$/;

/** Test and declaration files, which are never routes or islands. */
export const IGNORED_MODULE = /(_test|\.test|\.d)\.(tsx|ts|jsx|js)$/;

/** The `file:` URL (as a string) of an absolute path, for dynamic `import()`. */
export function toFileUrl(path: string): string {
  return pathToFileURL(path).href;
}
