import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { withTempDir } from "../../tests/support/temp_dir.ts";
import { createApp } from "./app.ts";
import {
  assertExcludes,
  assertIncludes,
  captureErrors,
  fetchApp,
  FIXTURE_ROOT,
  writeTree,
} from "./_test_util.ts";

const app = await createApp({ root: FIXTURE_ROOT });

Deno.test("routes - index renders inside _app and the root layout, as HTML", async () => {
  const { res, text } = await fetchApp(app, "/");
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("content-type"), "text/html; charset=utf-8");
  assert(text.startsWith('<!DOCTYPE html><html lang="en">'), text);
  assertIncludes(
    text,
    '<body class="app"><div class="layout-root" data-trail="root"><h1>Home</h1>',
  );
});

Deno.test("routes - <Head> children and asset() land in <head>", async () => {
  const { text } = await fetchApp(app, "/");
  const head = text.slice(0, text.indexOf("</head>"));
  assertIncludes(head, '<meta name="description" content="The fixture home page"/>');
  assertIncludes(head, `<link rel="stylesheet" href="/styles.css?__vc_c=${app.buildId}"/>`);
  assertExcludes(text, "<script");
});

Deno.test("routes - nested index and layouts render outer to inner", async () => {
  const { text } = await fetchApp(app, "/docs");
  assertIncludes(
    text,
    '<div class="layout-root" data-trail="root,docs-a,docs-b"><section class="layout-docs">' +
      '<h1 class="docs-index">',
  );
});

Deno.test("routes - params are percent-decoded; ctx.route is the pattern", async () => {
  const { text } = await fetchApp(app, "/docs/caf%C3%A9%20au%20lait");
  assertIncludes(text, '<article class="doc" data-route="/docs/:slug">café au lait</article>');
  assertIncludes((await fetchApp(app, "/users/42")).text, '<p class="user">user 42</p>');
});

Deno.test("routes - static segments beat parameters, parameters beat catch-alls", async () => {
  assertIncludes((await fetchApp(app, "/users/new")).text, '<p class="new-user">');
  assertIncludes((await fetchApp(app, "/about")).text, "<h1>About</h1>");
  assertIncludes((await fetchApp(app, "/whatever")).text, '<h1 class="any-page">whatever</h1>');
});

Deno.test("routes - a catch-all joins the remaining segments, and matches none", async () => {
  assertIncludes((await fetchApp(app, "/files/a/b%2Fc/d.txt")).text, "files:a/b/c/d.txt");
  assertIncludes((await fetchApp(app, "/files")).text, '<p class="files">files:</p>');
});

Deno.test("routes - a (group) adds no path segment but its layout applies", async () => {
  const { res, text } = await fetchApp(app, "/pricing");
  assertEquals(res.status, 200);
  assertIncludes(text, '<div class="layout-marketing"><h1 class="pricing">Pricing</h1>');
});

Deno.test("routes - config skips the app wrapper and inherited layouts", async () => {
  const { text } = await fetchApp(app, "/bare");
  assertEquals(text, '<!DOCTYPE html><html><body class="bare">bare</body></html>');
});

Deno.test("routes - async page components are awaited", async () => {
  assertIncludes((await fetchApp(app, "/async")).text, '<p class="async">async /async</p>');
});

Deno.test("middleware - runs outer to inner, shares state, sees the response", async () => {
  const { res } = await fetchApp(app, "/docs/intro");
  assertEquals(res.headers.get("x-trail"), "root,docs-a,docs-b");
  assertEquals((await fetchApp(app, "/about")).res.headers.get("x-trail"), "root");
});

Deno.test("handlers - by method; 405 with Allow; HEAD uses GET without a body", async () => {
  const get = await fetchApp(app, "/api/echo?q=hi");
  assertEquals(JSON.parse(get.text), { q: "hi" });
  const post = await fetchApp(app, "/api/echo", { method: "POST", body: "payload" });
  assertEquals([post.res.status, JSON.parse(post.text)], [201, { received: "payload" }]);
  const del = await fetchApp(app, "/api/echo", { method: "DELETE" });
  assertEquals([del.res.status, del.res.headers.get("allow")], [405, "GET, HEAD, POST"]);
  const head = await fetchApp(app, "/api/echo?q=x", { method: "HEAD" });
  assertEquals([head.res.status, head.text], [200, ""]);
  assertEquals(head.res.headers.get("content-type"), "application/json");
});

Deno.test("handlers - a function handler answers every method", async () => {
  assertEquals((await fetchApp(app, "/api/any", { method: "PUT" })).text, "method PUT");
});

Deno.test("handlers - a page without handler renders on GET and HEAD only", async () => {
  const head = await fetchApp(app, "/about", { method: "HEAD" });
  assertEquals([head.res.status, head.text], [200, ""]);
  assertEquals(head.res.headers.get("content-type"), "text/html; charset=utf-8");
  const post = await fetchApp(app, "/about", { method: "POST" });
  assertEquals([post.res.status, post.res.headers.get("allow")], [405, "GET, HEAD"]);
});

Deno.test("handlers - page(data, { status, headers }) renders with both", async () => {
  const { res, text } = await fetchApp(app, "/created", { method: "POST" });
  assertEquals([res.status, res.headers.get("x-created")], [201, "7"]);
  assertIncludes(text, '<p class="created">created 7</p>');
  assertEquals(res.headers.get("content-type"), "text/html; charset=utf-8");
});

Deno.test("handlers - ctx.render(vnode) renders inside layouts and _app", async () => {
  const { res, text } = await fetchApp(app, "/render");
  assertEquals(res.headers.get("x-render"), "yes");
  assertIncludes(text, '<div class="layout-root" data-trail="root"><p id="rendered">');
});

Deno.test("handlers - ctx.redirect answers 302, and never to another host", async () => {
  const plain = await fetchApp(app, "/go");
  assertEquals([plain.res.status, plain.res.headers.get("location")], [302, "/about"]);
  const sneaky = await fetchApp(app, "/go?to=//evil.example/x");
  assertEquals([sneaky.res.status, sneaky.res.headers.get("location")], [307, "/evil.example/x"]);
});

Deno.test("errors - HttpError renders _error with its status and message", async () => {
  const { res, text } = await fetchApp(app, "/teapot");
  assertEquals(res.status, 418);
  assertIncludes(text, '<main class="error"><h1>418</h1><p>Short and stout</p></main>');
  assertIncludes(text, '<div class="layout-root" data-trail="root">');
});

Deno.test("errors - unmatched paths and HttpError 404 render _404", async () => {
  const unmatched = await fetchApp(app, "/no/such/page");
  assertEquals(unmatched.res.status, 404);
  assertIncludes(unmatched.text, '<p class="path">/no/such/page</p>');
  assertEquals(unmatched.res.headers.get("x-trail"), "root", "root middleware ran");
  const thrown = await fetchApp(app, "/docs/missing");
  assertEquals(thrown.res.status, 404);
  assertIncludes(thrown.text, '<p class="reason">No such document</p>');
});

Deno.test("errors - a plain error answers 500, is logged, and never reaches the client", async () => {
  let result: { res: Response; text: string } | undefined;
  const logged = await captureErrors(async () => {
    result = await fetchApp(app, "/boom");
  });
  assertEquals(result!.res.status, 500);
  assertIncludes(result!.text, "<p>Something went wrong</p>");
  assertExcludes(result!.text, "secret");
  assertExcludes(result!.text, "boom.tsx");
  assertIncludes(logged.join("\n"), "secret database password");
});

Deno.test("errors - malformed percent-encoding answers 400", async () => {
  const { res, text } = await fetchApp(app, "/docs/%E0%A4%A");
  assertEquals(res.status, 400);
  assertIncludes(text, "<h1>400</h1><p>Malformed percent-encoding in the URL path</p>");
});

Deno.test("errors - without error pages, errors answer plain text", async () => {
  await withTempDir(async (dir) => {
    await writeTree(dir, {
      "routes/index.tsx": 'import { HttpError } from "fresh";\n' +
        'export const handler = () => { throw new HttpError(403, "Hosts only"); };\n',
      "routes/crash.ts": 'export const handler = () => { throw new Error("hidden"); };\n',
    });
    const bare = await createApp({ root: dir });
    const forbidden = await fetchApp(bare, "/");
    assertEquals([forbidden.res.status, forbidden.text], [403, "Hosts only"]);
    const missing = await fetchApp(bare, "/nope");
    assertEquals([missing.res.status, missing.text], [404, "Not Found"]);
    let crash: { res: Response; text: string } | undefined;
    await captureErrors(async () => {
      crash = await fetchApp(bare, "/crash");
    });
    assertEquals([crash!.res.status, crash!.text], [500, "Internal Server Error"]);
  });
});

Deno.test("static - files are served with content types and a validating ETag", async () => {
  const css = await fetchApp(app, "/styles.css");
  assertEquals(css.res.status, 200);
  assertEquals(css.res.headers.get("content-type"), "text/css; charset=utf-8");
  assertEquals(css.res.headers.get("cache-control"), "no-cache");
  assertIncludes(css.text, "margin: 0");
  const types: Record<string, string> = {
    "/logo.svg": "image/svg+xml",
    "/robots.txt": "text/plain; charset=utf-8",
    "/app.webmanifest": "application/manifest+json",
    "/fonts/mono.woff2": "font/woff2",
  };
  for (const [path, type] of Object.entries(types)) {
    assertEquals((await fetchApp(app, path)).res.headers.get("content-type"), type, path);
  }
  const etag = css.res.headers.get("etag")!;
  const again = await fetchApp(app, "/styles.css", { headers: { "if-none-match": etag } });
  assertEquals([again.res.status, again.text], [304, ""]);
  const changed = await fetchApp(app, "/styles.css", { headers: { "if-none-match": '"other"' } });
  assertEquals(changed.res.status, 200);
});

Deno.test("static - the current build id in the query makes the answer immutable", async () => {
  const current = await fetchApp(app, `/styles.css?__vc_c=${app.buildId}`);
  assertEquals(current.res.headers.get("cache-control"), "public, max-age=31536000, immutable");
  const stale = await fetchApp(app, "/styles.css?__vc_c=old");
  assertEquals(stale.res.headers.get("cache-control"), "no-cache");
});

Deno.test("static - GET and HEAD only; static files win over dynamic routes", async () => {
  const head = await fetchApp(app, "/robots.txt", { method: "HEAD" });
  assertEquals([head.res.status, head.text, head.res.headers.get("content-length")], [
    200,
    "",
    "14",
  ]);
  const post = await fetchApp(app, "/robots.txt", { method: "POST" });
  assertEquals([post.res.status, post.res.headers.get("allow")], [405, "GET, HEAD"]);
  assertIncludes((await fetchApp(app, "/robots.txt")).text, "User-agent");
});

Deno.test("static - traversal attempts and hidden files never leave static/", async () => {
  for (
    const path of [
      "/../app/static/styles.css",
      "/%2e%2e/static/styles.css",
      "/fonts/..%2fstyles.css",
      "/fonts/%2e%2e%2f%2e%2e%2froutes%2findex.tsx",
      "/fonts\\..\\..\\utils.ts",
      "/fonts/%5c..%5c..%5cutils.ts",
      "/styles.css%00.png",
      "/.secret",
      "/%2esecret",
    ]
  ) {
    const { res, text } = await fetchApp(app, path);
    assertExcludes(text, "hidden");
    assertExcludes(text, "createDefine");
    if (res.status === 200) {
      // Only URL normalization may have turned the path into a real static file or route.
      assert(text.includes("margin: 0") || text.includes("any-page"), `${path}: ${text}`);
    }
  }
  for (const path of ["/fonts/%2e%2e%2f%2e%2e%2froutes%2findex.tsx", "/fonts/mono.woff2%00"]) {
    assertEquals((await fetchApp(app, path)).res.status, 404, path);
  }
});

Deno.test("startup - a static file and a route with the same path are refused", async () => {
  await withTempDir(async (dir) => {
    await writeTree(dir, {
      "routes/about.tsx": "export default function About() { return <p>about</p>; }\n",
      "static/about": "file",
    });
    const error = await assertRejects(() => createApp({ root: dir }));
    assertIncludes(error.message, 'static/about and routes/about.tsx both answer "/about"');
  });
});

Deno.test("startup - malformed route trees are refused with the file named", async () => {
  const cases: [Record<string, string>, string][] = [
    [{ "routes/a.ts": "export const x = 1;\n" }, "routes/a.ts exports neither"],
    [{ "routes/a[id].tsx": "export default () => null;\n" }, 'segment "a[id]"'],
    [{ "routes/[...r]/x.tsx": "export default () => null;\n" }, "must be the last one"],
    [{
      "routes/x.tsx": "export default () => null;\n",
      "routes/(g)/x.tsx": "export default () => null;\n",
    }, "same path pattern"],
    [{ "routes/a/_app.tsx": "export default () => null;\n" }, "_app is only supported in routes/"],
    [{ "routes/a.ts": "export const handler = { FETCH() {} };\n" }, "handler.FETCH"],
  ];
  for (const [files, message] of cases) {
    await withTempDir(async (dir) => {
      await writeTree(dir, files);
      const error = await assertRejects(() => createApp({ root: dir }));
      assertIncludes(error.message, message);
    });
  }
});
