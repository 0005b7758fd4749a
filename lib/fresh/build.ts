/**
 * Command line: bundles an app's islands once, writes the outputs and a manifest into the build
 * folder (`<root>/_fresh/`, or `--out <dir>`; lib/fresh/prebuilt.ts) that servers then serve
 * without bundling, and prints the output sizes; exits non-zero when bundling fails. Run it from
 * the project directory, whose `deno.json` import map the bundler uses:
 *
 * ```sh
 * deno run -A lib/fresh/build.ts [root] [--out dir]   # root holds islands/; default "."
 * ```
 *
 * @module
 */
import { resolve } from "node:path";
import { bundleIslands } from "./bundle.ts";
import { writePrebuilt } from "./prebuilt.ts";
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
  const rest = [...args];
  const outAt = rest.indexOf("--out");
  const out = outAt >= 0 ? rest.splice(outAt, 2)[1] : undefined;
  if (outAt >= 0 && out === undefined) {
    write("--out needs a directory");
    return 1;
  }
  const root = resolve(rest[0] ?? ".");
  const dir = resolve(out ?? `${root}/_fresh`);
  try {
    if (!(await Deno.stat(root).catch(() => null))?.isDirectory) {
      throw new Error(`App root "${root}" is not a directory`);
    }
    const islands = await findIslandModules(`${root}/islands`);
    const bundle = await bundleIslands({ islands });
    const { info } = bundle;
    await writePrebuilt(dir, bundle);
    for (const file of info.files) write(`${formatBytes(file.bytes).padStart(10)}  ${file.path}`);
    write(
      `${formatBytes(info.totalBytes).padStart(10)}  total: ${info.files.length} files, ` +
        `${islands.length} island modules, bundle ${info.bundleId}, ${info.durationMs} ms`,
    );
    write(`written to ${dir}`);
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
