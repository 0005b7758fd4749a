import { assert, assertEquals } from "../../tests/support/assert.ts";
import { withTempDir } from "../../tests/support/temp_dir.ts";
import { assertIncludes, writeTree } from "./_test_util.ts";
import { createApp } from "./app.ts";

const PROJECT_DIR = new URL("../..", import.meta.url);

async function runBuild(
  root: string,
  out?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "lib/fresh/build.ts", root, ...(out ? ["--out", out] : [])],
    cwd: PROJECT_DIR,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

Deno.test("build.ts - bundles the fixture's islands, prints the sizes and writes the build folder", async () => {
  await withTempDir(async (out) => {
    const { code, stdout } = await runBuild("lib/fresh/testdata/app", out);
    assertEquals(code, 0);
    assertIncludes(stdout, "client.js");
    assertIncludes(stdout, "testdata/app/islands/Counter.js");
    assertIncludes(stdout, "total: ");
    const manifest = JSON.parse(await Deno.readTextFile(`${out}/manifest.json`));
    for (const file of manifest.files) {
      assertEquals((await Deno.stat(`${out}/js/${file.path}`)).size, file.bytes);
    }
  });
});

const APP_ROOT = new URL("./testdata/app/", import.meta.url);

Deno.test("a built folder is served without bundling: the page names its bundle id and the chunks come from it", async () => {
  await withTempDir(async (out) => {
    assertEquals((await runBuild("lib/fresh/testdata/app", out)).code, 0);
    const manifest = JSON.parse(await Deno.readTextFile(`${out}/manifest.json`));
    const events: string[] = [];
    const app = await createApp({
      root: APP_ROOT,
      prebuilt: "required",
      prebuiltDir: out,
      log: (event) => events.push(event),
    });
    assertEquals(events, ["fresh_prebuilt"]);
    const page = await (await app.handler(new Request("http://x/islands"))).text();
    assertIncludes(page, `/_fresh/js/${manifest.bundleId}/`);
    const chunk = await app.handler(
      new Request(`http://x/_fresh/js/${manifest.bundleId}/${manifest.client}`),
    );
    assertEquals(chunk.status, 200);
    assertEquals(
      new Uint8Array(await chunk.arrayBuffer()),
      await Deno.readFile(`${out}/js/${manifest.client}`),
    );
    // Nothing was bundled here.
    assertEquals(events.includes("fresh_build"), false);
  });
});

Deno.test("a missing build fails the start under required; a stale or damaged one says to run deno task build", async () => {
  await withTempDir(async (out) => {
    const missing = await createApp({ root: APP_ROOT, prebuilt: "required", prebuiltDir: out })
      .then(() => "started", (error: Error) => error.message);
    assertIncludes(missing, "No prebuilt browser bundle");
    // "auto" without a build starts and bundles on demand.
    await createApp({ root: APP_ROOT, prebuilt: "auto", prebuiltDir: out });

    assertEquals((await runBuild("lib/fresh/testdata/app", out)).code, 0);
    const manifestPath = `${out}/manifest.json`;
    const manifest = JSON.parse(await Deno.readTextFile(manifestPath));
    const stale = { ...manifest, islands: { ...manifest.islands, Gone: "islands/Gone.js" } };
    await Deno.writeTextFile(manifestPath, JSON.stringify(stale));
    const staleError = await createApp({ root: APP_ROOT, prebuilt: "auto", prebuiltDir: out })
      .then(() => "started", (error: Error) => error.message);
    assertIncludes(staleError, "built for the islands");
    assertIncludes(staleError, "deno task build");

    await Deno.writeTextFile(manifestPath, JSON.stringify(manifest));
    await Deno.writeTextFile(`${out}/js/${manifest.client}`, "// changed");
    const damaged = await createApp({ root: APP_ROOT, prebuilt: "auto", prebuiltDir: out })
      .then(() => "started", (error: Error) => error.message);
    assertIncludes(damaged, "is not the file it built");
  });
});

Deno.test("build.ts - exits non-zero when bundling fails", async () => {
  await withTempDir(async (dir) => {
    await writeTree(dir, { "islands/Broken.tsx": 'import "./not_there.ts";\nexport default 1;\n' });
    const { code, stderr } = await runBuild(dir);
    assertEquals(code, 1);
    assertIncludes(stderr, "not_there.ts");
  });
});

Deno.test("a build older than the client sources is noticed: auto bundles the current code, required serves it and says so", async () => {
  await withTempDir(async (out) => {
    assertEquals((await runBuild("lib/fresh/testdata/app", out)).code, 0);
    await Deno.utime(`${out}/manifest.json`, 0, 0); // built long before the sources' last edit
    for (const mode of ["auto", "required"] as const) {
      const events: [string, Record<string, unknown>][] = [];
      await createApp({
        root: APP_ROOT,
        prebuilt: mode,
        prebuiltDir: out,
        log: (event, fields) => events.push([event, fields]),
      });
      const stale = events.find(([event]) => event === "fresh_prebuilt_stale");
      assert(stale !== undefined, JSON.stringify(events));
      const served = events.some(([event]) => event === "fresh_prebuilt");
      assertEquals(served, mode === "required", mode);
    }
  });
});

Deno.test("build.ts --out refuses a directory that holds anything but a build, and deletes nothing", async () => {
  await withTempDir(async (out) => {
    await Deno.writeTextFile(`${out}/keep.txt`, "mine");
    const { code, stderr } = await runBuild("lib/fresh/testdata/app", out);
    assertEquals(code, 1);
    assertIncludes(stderr, "no manifest.json");
    assertEquals(await Deno.readTextFile(`${out}/keep.txt`), "mine");
  });
});
