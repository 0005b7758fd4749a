/**
 * Helpers shared by the framework's tests.
 *
 * @module
 */
import { assert } from "../../tests/support/assert.ts";
import type { FreshApp } from "./app.ts";

/** The fixture app's root directory. */
export const FIXTURE_ROOT = new URL("./testdata/app", import.meta.url);

/** Sends `path` (with `init`) to `app` and reads the whole body. */
export async function fetchApp(
  app: FreshApp,
  path: string,
  init?: RequestInit,
): Promise<{ res: Response; text: string }> {
  const res = await app.handler(new Request(`http://localhost${path}`, init));
  return { res, text: await res.text() };
}

/** Asserts that `text` contains `part`. */
export function assertIncludes(text: string, part: string): void {
  assert(text.includes(part), `Expected to find ${JSON.stringify(part)} in:\n${text}`);
}

/** Asserts that `text` does not contain `part`. */
export function assertExcludes(text: string, part: string): void {
  assert(!text.includes(part), `Expected not to find ${JSON.stringify(part)} in:\n${text}`);
}

/** Runs `fn` with `console.error` captured, and returns what it logged (one string per call). */
export async function captureErrors(fn: () => Promise<void>): Promise<string[]> {
  const logged: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => {
    logged.push(args.map((arg) => arg instanceof Error ? arg.stack : String(arg)).join(" "));
  };
  try {
    await fn();
  } finally {
    console.error = original;
  }
  return logged;
}

/** Writes `files` (path → contents) below `dir`, creating directories. */
export async function writeTree(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, contents] of Object.entries(files)) {
    const full = `${dir}/${path}`;
    await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(full, contents);
  }
}
