/**
 * The browser bundle: the boot module (`client.ts`) and one entry point per island module,
 * bundled by `Deno.bundle` (esbuild inside Deno; it resolves the project's import map) with
 * code splitting, kept in memory.
 *
 * Output paths mirror the entry points' paths relative to their closest common directory
 * (esbuild's default), e.g. `lib/fresh/client.js` and `islands/Counter.js` for an app at the
 * project root. The bundle id is a hash of every output, so equal sources give equal URLs on
 * every server instance.
 *
 * @module
 */
import { dirname, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { shortHash } from "./_fs.ts";
import type { IslandModule } from "./islands.ts";

/** What a finished build reports. */
export interface BuildInfo {
  /** Hash of the outputs; chunks are served below `/_fresh/js/<bundleId>/`. */
  bundleId: string;
  /** Output files and their sizes in bytes, sorted by path. */
  files: { path: string; bytes: number }[];
  /** Sum of the output sizes in bytes. */
  totalBytes: number;
  /** Wall time of the build in milliseconds. */
  durationMs: number;
}

/** A finished bundle, held in memory. */
export interface Bundle {
  info: BuildInfo;
  /** Output contents by path relative to the bundle root. */
  files: Map<string, Uint8Array<ArrayBuffer>>;
  /** The boot module's output path. */
  client: string;
  /** Each island module's (`IslandModule.file`) output path. */
  islands: Map<string, string>;
  /** The outputs each output imports statically (transitively), for `modulepreload`. */
  imports: Map<string, string[]>;
}

/** Options of {@linkcode bundleIslands}. */
export interface BundleOptions {
  islands: readonly IslandModule[];
  /** Readable output with inline source maps instead of minified output. @default {false} */
  dev?: boolean;
}

const CLIENT_ENTRY = fileURLToPath(new URL("./client.ts", import.meta.url));
// Never written: with `write: false` the bundler only uses it to name the outputs.
const OUTPUT_DIR = "/__vc_bundle__";
const STATIC_IMPORT = /(?:\bfrom|\bimport)\s*"(\.{1,2}\/[^"]+)"/g;

/**
 * Bundles the boot module and the island modules for the browser. Throws an error listing the
 * bundler's messages when bundling fails.
 */
export async function bundleIslands(options: BundleOptions): Promise<Bundle> {
  const started = performance.now();
  const entries = [CLIENT_ENTRY, ...options.islands.map((island) => island.path)];
  const result = await Deno.bundle({
    entrypoints: entries,
    outputDir: OUTPUT_DIR,
    platform: "browser",
    format: "esm",
    codeSplitting: true,
    minify: !options.dev,
    sourcemap: options.dev ? "inline" : undefined,
    write: false,
  });
  if (!result.success || result.outputFiles === undefined) {
    const messages = result.errors.map((message) => stripAnsi(message.text)).join("\n");
    throw new Error(`Bundling the islands for the browser failed:\n${messages}`);
  }
  const files = new Map<string, Uint8Array<ArrayBuffer>>();
  for (const output of result.outputFiles) {
    const path = relative(OUTPUT_DIR, output.path).split(sep).join("/");
    files.set(path, output.contents ?? new TextEncoder().encode(output.text()));
  }
  const base = commonDir(entries);
  const outputOf = (entry: string): string => {
    const path = relative(base, entry).split(sep).join("/").replace(/\.[jt]sx?$/, ".js");
    if (!files.has(path)) throw new Error(`The bundle has no output for entry point ${entry}`);
    return path;
  };
  const paths = [...files.keys()].sort();
  const bundleId = await shortHash(
    paths.map((p) => `${p}\0${new TextDecoder().decode(files.get(p))}`).join("\0"),
  );
  return {
    info: {
      bundleId,
      files: paths.map((path) => ({ path, bytes: files.get(path)!.byteLength })),
      totalBytes: paths.reduce((sum, path) => sum + files.get(path)!.byteLength, 0),
      durationMs: Math.round(performance.now() - started),
    },
    files,
    client: outputOf(CLIENT_ENTRY),
    islands: new Map(options.islands.map((island) => [island.file, outputOf(island.path)])),
    imports: staticImports(files),
  };
}

function commonDir(paths: readonly string[]): string {
  let dir = dirname(paths[0]);
  while (!paths.every((path) => path.startsWith(dir.endsWith(sep) ? dir : dir + sep))) {
    dir = dirname(dir);
  }
  return dir;
}

/** Each output's transitive static imports among the outputs (esbuild writes `from"./x.js"`). */
function staticImports(files: Map<string, Uint8Array<ArrayBuffer>>): Map<string, string[]> {
  const direct = new Map<string, string[]>();
  for (const [path, contents] of files) {
    const found: string[] = [];
    for (const match of new TextDecoder().decode(contents).matchAll(STATIC_IMPORT)) {
      const target = new URL(match[1], `file:///${path}`).pathname.slice(1);
      if (files.has(target)) found.push(target);
    }
    direct.set(path, found);
  }
  const all = new Map<string, string[]>();
  for (const path of files.keys()) {
    const seen = new Set<string>();
    const stack = [...direct.get(path)!];
    while (stack.length > 0) {
      const next = stack.pop()!;
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push(...direct.get(next)!);
    }
    all.set(path, [...seen].sort());
  }
  return all;
}

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");

function stripAnsi(text: string): string {
  return text.replace(ANSI, "");
}
