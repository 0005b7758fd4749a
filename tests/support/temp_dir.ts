/**
 * A temporary directory for one test, removed afterwards.
 *
 * @module
 */

/** Runs `fn` with a fresh temporary directory and removes it afterwards, whatever happens. */
export async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "videocall-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
