/**
 * Command line: bundles an app's islands once and prints the output sizes, exiting non-zero
 * when bundling fails. Run it from the project directory, whose `deno.json` import map the
 * bundler uses:
 *
 * ```sh
 * deno run -A lib/fresh/build.ts [root]   # root holds islands/; default "."
 * ```
 *
 * @module
 */
import { resolve } from "node:path";
import { bundleIslands } from "./bundle.ts";
import { findIslandModules } from "./islands.ts";

/**
 * Bundles the islands below `<root>/islands` and reports to `write`.
 *
 * @param args The command-line arguments: an optional app root.
 * @param write Where report lines go.
 * @returns The process exit code: 0 on success, 1 on failure.
 */
export async function main(
  args: readonly string[],
  write: (line: string) => void = console.log,
): Promise<number> {
  const root = resolve(args[0] ?? ".");
  try {
    if (!(await Deno.stat(root).catch(() => null))?.isDirectory) {
      throw new Error(`App root "${root}" is not a directory`);
    }
    const islands = await findIslandModules(`${root}/islands`);
    const { info } = await bundleIslands({ islands });
    for (const file of info.files) write(`${formatBytes(file.bytes).padStart(10)}  ${file.path}`);
    write(
      `${formatBytes(info.totalBytes).padStart(10)}  total: ${info.files.length} files, ` +
        `${islands.length} island modules, bundle ${info.bundleId}, ${info.durationMs} ms`,
    );
    return 0;
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    return 1;
  }
}

function formatBytes(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} kB`;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
