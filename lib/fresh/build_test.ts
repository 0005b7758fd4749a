import { assertEquals } from "../../tests/support/assert.ts";
import { withTempDir } from "../../tests/support/temp_dir.ts";
import { assertIncludes, writeTree } from "./_test_util.ts";

const PROJECT_DIR = new URL("../..", import.meta.url);

async function runBuild(root: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "lib/fresh/build.ts", root],
    cwd: PROJECT_DIR,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

Deno.test("build.ts - bundles the fixture's islands and prints the sizes", async () => {
  const { code, stdout } = await runBuild("lib/fresh/testdata/app");
  assertEquals(code, 0);
  assertIncludes(stdout, "client.js");
  assertIncludes(stdout, "testdata/app/islands/Counter.js");
  assertIncludes(stdout, "total: ");
});

Deno.test("build.ts - exits non-zero when bundling fails", async () => {
  await withTempDir(async (dir) => {
    await writeTree(dir, { "islands/Broken.tsx": 'import "./not_there.ts";\nexport default 1;\n' });
    const { code, stderr } = await runBuild(dir);
    assertEquals(code, 1);
    assertIncludes(stderr, "not_there.ts");
  });
});
