import { Signal } from "@preact/signals";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { withTempDir } from "../../tests/support/temp_dir.ts";
import { createApp, type LogFields } from "./app.ts";
import { type PropsPayload, reviveProps } from "./serialize.ts";
import {
  assertExcludes,
  assertIncludes,
  captureErrors,
  fetchApp,
  FIXTURE_ROOT,
  writeTree,
} from "./_test_util.ts";

const events: [string, LogFields][] = [];
const app = await createApp({ root: FIXTURE_ROOT, log: (e, f) => events.push([e, f]) });

/**
 * The parts of an islands page's boot: the boot module's URL followed by the island module URLs
 * (`imports`), the island names in order (`modules`) and the props payload, from the page's JSON
 * data block. The page has no inline script.
 */
function bootScript(html: string): { imports: string[]; modules: string; payload: PropsPayload } {
  const block = /<script type="application\/json" id="__vc_boot">(.*?)<\/script>/s.exec(html)?.[1];
  assert(block !== undefined, `No boot data in:\n${html}`);
  const client = /<script type="module" src="([^"]+)"><\/script>/.exec(html)?.[1];
  assert(client !== undefined, `No boot module in:\n${html}`);
  assertEquals(html.match(/<script(?! type="application\/json")(?! type="module" src=)/g), null);
  const data = JSON.parse(block) as { islands: Record<string, string>; payload: PropsPayload };
  const names = Object.keys(data.islands);
  return {
    imports: [client, ...Object.values(data.islands)],
    modules: names.map((name, i) => `${JSON.stringify(name)}:m${i}`).join(","),
    payload: data.payload,
  };
}

Deno.test("islands - top-level islands are marked, nested ones render plain", async () => {
  const { res, text } = await fetchApp(app, "/islands");
  assertEquals(res.status, 200);
  const markers = [...text.matchAll(/<vc-island data-island="([^"]+)" data-props="(\d+)"/g)];
  assertEquals(markers.map((m) => [m[1], m[2]]), [
    ["Counter#default", "0"],
    ["Counter#default", "1"],
    ["widgets/Badge#Badge", "2"],
  ]);
  assertIncludes(text, 'style="display:contents"><div class="counter"><span class="label">clicks');
  assertIncludes(text, '<span class="badge">nested</span></div></vc-island>');
});

Deno.test("islands - props are serialized with shared signals and dates", async () => {
  const { text } = await fetchApp(app, "/islands");
  const { payload, modules } = bootScript(text);
  assertEquals(modules, '"Counter":m0,"widgets/Badge":m1');
  assertEquals(payload.signals, ["clicks"]);
  const [first, second, badge] = reviveProps(payload);
  assertEquals(first.start, 3);
  assertEquals(second.start, 10);
  assert(first.label instanceof Signal && first.label === second.label, "one shared signal");
  assertEquals((badge.since as Date).toISOString(), "2024-01-02T00:00:00.000Z");
  assertEquals(badge.text, "</script><!-- tricky");
});

Deno.test("islands - inline JSON cannot close the script or open a comment", async () => {
  const { text } = await fetchApp(app, "/islands");
  const script = text.slice(text.indexOf('<script type="application/json"'));
  // One end for the data block, one for the boot module after it: nothing in the data ends it.
  assertEquals(script.match(/<\/script/g)?.length, 2);
  assertExcludes(script, "<!--");
  assertIncludes(script, "\\u003c/script>\\u003c!-- tricky");
});

Deno.test("islands - the boot script and preloads point at served, immutable chunks", async () => {
  const { text } = await fetchApp(app, "/islands");
  const { imports } = bootScript(text);
  const info = await app.build();
  const base = `/_fresh/js/${info.bundleId}/`;
  assertEquals(imports, [
    `${base}client.js`,
    `${base}testdata/app/islands/Counter.js`,
    `${base}testdata/app/islands/widgets/Badge.js`,
  ]);
  const preloads = [...text.matchAll(/<link rel="modulepreload" href="([^"]+)">/g)].map((m) =>
    m[1]
  );
  assert(imports.every((url) => preloads.includes(url)), "entries are preloaded");
  assert(preloads.some((url) => url.includes("/chunk-")), "shared chunks are preloaded");
  for (const url of new Set([...imports, ...preloads])) {
    const { res, text: js } = await fetchApp(app, url);
    assertEquals(res.status, 200, url);
    assertEquals(res.headers.get("content-type"), "text/javascript; charset=utf-8");
    assertEquals(res.headers.get("cache-control"), "public, max-age=31536000, immutable");
    assert(js.length > 0, url);
  }
  const client = await fetchApp(app, `${base}client.js`);
  assert(/getElementById/.test(client.text), "the boot module reads the page's boot data");
  const counter = await fetchApp(app, `${base}testdata/app/islands/Counter.js`);
  assert(/as default\b/.test(counter.text), "the island chunk exports its component");
});

Deno.test("islands - unknown chunks and stale bundle ids answer 404", async () => {
  const { bundleId } = await app.build();
  for (
    const url of [
      `/_fresh/js/${bundleId}/nope.js`,
      `/_fresh/js/${bundleId}/`,
      "/_fresh/js/0000000000000000/client.js",
      "/_fresh/js/",
    ]
  ) {
    assertEquals((await fetchApp(app, url)).res.status, 404, url);
  }
  const post = await fetchApp(app, `/_fresh/js/${bundleId}/client.js`, { method: "POST" });
  assertEquals(post.res.status, 405);
});

Deno.test("islands - build() runs once and logs its time and size", async () => {
  const [a, b] = await Promise.all([app.build(), app.build()]);
  assert(a === b, "the same result");
  const builds = events.filter(([event]) => event === "fresh_build");
  assertEquals(builds.length, 1);
  assertEquals(builds[0][1].bundle_id, a.bundleId);
  assertEquals(builds[0][1].bytes, a.totalBytes);
  assert(a.totalBytes > 0 && a.files.some((f) => f.path === "client.js"), "outputs are listed");
});

Deno.test("islands - a non-serializable prop fails the page naming island and prop", async () => {
  let result: { res: Response; text: string } | undefined;
  const logged = await captureErrors(async () => {
    result = await fetchApp(app, "/bad-island");
  });
  assertEquals(result!.res.status, 500);
  assertExcludes(result!.text, "onPick");
  assertIncludes(
    logged.join("\n"),
    'Island Badge (islands/widgets/Badge.tsx): prop "data.onPick" is a function',
  );
});

Deno.test("islands - a failed bundle fails only the pages with islands", async () => {
  await withTempDir(async (dir) => {
    await writeTree(dir, {
      "islands/Lazy.tsx": "export default function Lazy() {\n" +
        '  return <button onClick={() => import("./missing_module.ts")}>load</button>;\n}\n',
      "routes/index.tsx": 'import Lazy from "../islands/Lazy.tsx";\n' +
        "export default function Home() { return <main><Lazy /></main>; }\n",
      "routes/plain.tsx": "export default function Plain() { return <p>plain</p>; }\n",
    });
    const failures: LogFields[] = [];
    const broken = await createApp({
      root: dir,
      log: (event, fields) => event === "fresh_build_failed" && failures.push(fields),
    });
    let withIslands: { res: Response; text: string } | undefined;
    const logged = await captureErrors(async () => {
      withIslands = await fetchApp(broken, "/");
    });
    assertEquals(withIslands!.res.status, 500);
    assertIncludes(withIslands!.text, "The browser bundle failed to build; see the server log");
    assertIncludes(logged.join("\n"), "missing_module.ts");
    assertEquals(failures.length, 1);
    assertIncludes(String(failures[0].error), "Bundling the islands for the browser failed");
    const plain = await fetchApp(broken, "/plain");
    assertEquals(plain.res.status, 200);
    assertIncludes(plain.text, '<!DOCTYPE html><html><head><meta charset="utf-8"/>');
    assertIncludes(plain.text, "<body><p>plain</p></body></html>");
  });
});

Deno.test("dev - static files are re-read per request; the bundle has inline source maps", async () => {
  await withTempDir(async (dir) => {
    await writeTree(dir, {
      "static/note.txt": "first",
      "islands/Hello.tsx": "export default function Hello() { return <b>hi</b>; }\n",
      "routes/index.tsx": 'import Hello from "../islands/Hello.tsx";\n' +
        "export default function Home() { return <Hello />; }\n",
    });
    const dev = await createApp({ root: dir, dev: true });
    const first = await fetchApp(dev, "/note.txt");
    await Deno.writeTextFile(`${dir}/static/note.txt`, "second");
    const second = await fetchApp(dev, "/note.txt");
    assertEquals([first.text, second.text], ["first", "second"]);
    assert(first.res.headers.get("etag") !== second.res.headers.get("etag"), "new ETag");
    const info = await dev.build();
    const hello = info.files.find((f) => f.path.endsWith("Hello.js"))!;
    const { text } = await fetchApp(dev, `/_fresh/js/${info.bundleId}/${hello.path}`);
    assertIncludes(text, "sourceMappingURL=data:");
  });
});
