/**
 * The browser bundle built ahead of time, as Fresh 2 does: `deno task build` bundles the islands
 * once and writes the outputs and a manifest into a folder (`_fresh/` by default); a server that
 * finds that folder serves those files and never bundles at run time — so it runs where
 * `Deno.bundle` (an unstable API) does not exist, and starts without the seconds a build takes.
 *
 * Layout: `<dir>/manifest.json` and every output below `<dir>/js/`, named as the bundle names
 * them (the bundle id, a hash of every output, is in the manifest and in every URL, so caches
 * never mix two builds).
 *
 * @module
 */
import type { Bundle } from "./bundle.ts";
import type { IslandModule } from "./islands.ts";

/** The manifest's format; a folder with another is refused (built by another version). */
const MANIFEST_VERSION = 1;

interface Manifest {
  version: number;
  bundleId: string;
  client: string;
  /** Island module file (below `islands/`, no extension) → its output. */
  islands: Record<string, string>;
  imports: Record<string, string[]>;
  files: { path: string; bytes: number }[];
  totalBytes: number;
  durationMs: number;
}

/** Why a prebuilt folder cannot be used: missing, stale or damaged, with what to do. */
export class PrebuiltBundleError extends Error {}

/**
 * Writes `bundle` into `dir`, replacing what a previous build left there. A directory that holds
 * anything but a build (no `manifest.json`, not empty) is refused, never emptied: `--out .` must
 * not delete the project.
 */
export async function writePrebuilt(dir: string, bundle: Bundle): Promise<void> {
  const entries: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) entries.push(entry.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  if (entries.length > 0 && !entries.includes("manifest.json")) {
    throw new PrebuiltBundleError(
      `${dir} holds files but no build (no manifest.json); choose an empty or new directory`,
    );
  }
  if (entries.length > 0) await Deno.remove(dir, { recursive: true });
  for (const [path, contents] of bundle.files) {
    const target = `${dir}/js/${path}`;
    await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
    await Deno.writeFile(target, contents);
  }
  const manifest: Manifest = {
    version: MANIFEST_VERSION,
    bundleId: bundle.info.bundleId,
    client: bundle.client,
    islands: Object.fromEntries(bundle.islands),
    imports: Object.fromEntries(bundle.imports),
    files: bundle.info.files,
    totalBytes: bundle.info.totalBytes,
    durationMs: bundle.info.durationMs,
  };
  // Written last: a folder without a manifest is an unfinished build, never read.
  await Deno.writeTextFile(`${dir}/manifest.json`, JSON.stringify(manifest, null, 2) + "\n");
}

/**
 * The bundle in `dir`, read into memory; undefined when `dir` holds no manifest. Throws a
 * {@linkcode PrebuiltBundleError} when it was built for other islands than `islands` (a stale
 * build: an island was added or removed since), or a file is missing or of another size.
 */
export async function readPrebuilt(
  dir: string,
  islands: readonly IslandModule[],
): Promise<Bundle | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/manifest.json`);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  const stale = (why: string) =>
    new PrebuiltBundleError(
      `The prebuilt browser bundle in ${dir} cannot be used: ${why}. Run \`deno task build\`.`,
    );
  let manifest: Manifest;
  try {
    manifest = JSON.parse(text);
  } catch {
    throw stale("its manifest is not JSON");
  }
  if (manifest?.version !== MANIFEST_VERSION) throw stale("another version of the build wrote it");
  const isStrings = (v: unknown) =>
    typeof v === "object" && v !== null && Object.values(v).every((x) => typeof x === "string");
  if (
    typeof manifest.bundleId !== "string" || typeof manifest.client !== "string" ||
    !isStrings(manifest.islands) || typeof manifest.imports !== "object" ||
    manifest.imports === null || !Array.isArray(manifest.files) ||
    !manifest.files.every((f) => typeof f?.path === "string" && Number.isInteger(f?.bytes))
  ) {
    throw stale("its manifest is damaged");
  }
  const built = Object.keys(manifest.islands ?? {}).sort();
  const present = islands.map((island) => island.file).sort();
  if (built.join("\n") !== present.join("\n")) {
    throw stale(`it was built for the islands ${built.join(", ")}, not ${present.join(", ")}`);
  }
  const files = new Map<string, Uint8Array<ArrayBuffer>>();
  for (const { path, bytes } of manifest.files) {
    if (path.split("/").some((part) => part === ".." || part === "")) {
      throw stale(`bad path ${path}`);
    }
    let contents: Uint8Array<ArrayBuffer>;
    try {
      contents = await Deno.readFile(`${dir}/js/${path}`);
    } catch {
      throw stale(`${path} is missing`);
    }
    if (contents.byteLength !== bytes) throw stale(`${path} is not the file it built`);
    files.set(path, contents);
  }
  return {
    info: {
      bundleId: manifest.bundleId,
      files: manifest.files,
      totalBytes: manifest.totalBytes,
      durationMs: manifest.durationMs,
    },
    files,
    client: manifest.client,
    islands: new Map(Object.entries(manifest.islands)),
    imports: new Map(Object.entries(manifest.imports)),
  };
}

/**
 * A source file below `root`'s client directories (`islands/`, `components/`, `lib/`) changed
 * after the build in `dir` was written, or undefined when none did (or `dir` has no build). A
 * build does not list its inputs, so this looks at modification times: enough to catch
 * `deno task start` serving yesterday's build after today's edit.
 */
export async function newerSource(root: string, dir: string): Promise<string | undefined> {
  const built = (await Deno.stat(`${dir}/manifest.json`).catch(() => undefined))?.mtime;
  if (!built) return undefined;
  const walk = async (path: string): Promise<string | undefined> => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(path));
    } catch {
      return undefined;
    }
    for (const entry of entries) {
      const child = `${path}/${entry.name}`;
      if (entry.isDirectory) {
        const found = await walk(child);
        if (found) return found;
      } else if (/\.(tsx?|jsx?)$/.test(entry.name)) {
        const mtime = (await Deno.stat(child).catch(() => undefined))?.mtime;
        if (mtime && mtime > built) return child;
      }
    }
    return undefined;
  };
  for (const sub of ["islands", "components", "lib"]) {
    const found = await walk(`${root}/${sub}`);
    if (found) return found;
  }
  return undefined;
}
