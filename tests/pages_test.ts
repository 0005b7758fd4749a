/**
 * The web pages over plain HTTP: the home form, the meeting page, error pages, static files —
 * including what a broken or hostile request gets.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { withServer } from "./support/harness.ts";

async function form(base: string, fields: Record<string, string>): Promise<Response> {
  return await fetch(`${base}/`, {
    method: "POST",
    body: new URLSearchParams(fields),
    redirect: "manual",
  });
}

Deno.test("the home page offers a fresh meeting id and sends the form to the meeting URL", async () => {
  await withServer({}, async (h) => {
    const base = h.server.httpUrl;
    const home = await fetch(`${base}/`);
    assertEquals(home.status, 200);
    assertEquals(home.headers.get("content-type"), "text/html; charset=utf-8");
    const html = await home.text();
    assert(/name="meeting"[^>]*value="[a-z]{3}-[a-z]{4}-[a-z]{3}"/.test(html), html);
    const shared = await (await fetch(`${base}/?meeting=standup`)).text();
    assert(shared.includes('value="standup"'));

    const go = await form(base, { name: "Zoë O'Brien", meeting: "standup" });
    assertEquals(go.status, 303);
    const location = go.headers.get("location") ?? "";
    const expected = /^\/meeting\/Zoe-O-Brien-[0-9a-f]{4}\/standup\?name=(.*)$/;
    const match = location.match(expected);
    assert(match, location);
    assertEquals(decodeURIComponent(match[1]), "Zoë O'Brien");
    await go.body?.cancel();
  });
});

Deno.test("a bad home form gets a 400 page that says what is wrong and keeps the input", async () => {
  await withServer({}, async (h) => {
    const base = h.server.httpUrl;
    const cases: [Record<string, string>, string][] = [
      [{ name: "", meeting: "standup" }, "Type your name"],
      [{ name: "Ada", meeting: "no spaces" }, "may only contain letters, digits"],
      [{ name: "Ada", meeting: "" }, "The meeting id is empty"],
      [{ name: "x".repeat(101), meeting: "standup" }, "at most 100 characters"],
      [{ name: "<script>alert(1)</script>", meeting: "a/../b" }, "may only contain"],
    ];
    for (const [fields, message] of cases) {
      const response = await form(base, fields);
      const html = await response.text();
      assertEquals(response.status, 400, JSON.stringify(fields));
      assert(html.includes(message), `${message} in ${html.slice(0, 200)}`);
      assert(!html.includes("<script>alert"), "input is escaped");
    }
    const notForm = await fetch(`${base}/`, {
      method: "POST",
      headers: { "content-type": "multipart/form-data; boundary=x" },
      body: "garbage",
    });
    assertEquals(notForm.status, 415);
    assert((await notForm.text()).includes("application/x-www-form-urlencoded"));
    const put = await fetch(`${base}/`, { method: "PUT" });
    assertEquals(put.status, 405);
    await put.body?.cancel();
  });
});

Deno.test("the meeting page renders its shell and one island per widget with their props; invalid ids get a 400 page", async () => {
  await withServer({}, async (h) => {
    const base = h.server.httpUrl;
    const page = await fetch(`${base}/meeting/ada/standup?name=Ada%20L&transport=websocket`);
    assertEquals(page.status, 200);
    const html = await page.text();
    for (const island of ["CallHeader", "CallStatus", "Lobby", "VideoGrid", "SidePanel"]) {
      assert(html.includes(`data-island="${island}#default"`), island);
    }
    // The shell and the lobby are in the first paint, not a blank "Loading…".
    assert(html.includes('<header class="topbar">'), html);
    assert(html.includes('<footer class="toolbar">'), html);
    assert(html.includes("Ready to join?"), html);
    assert(!html.includes("Loading…"), html);
    assert(html.includes('"displayName":"Ada L"'));
    assert(html.includes('"transport":"websocket"'));
    const script = html.match(/<script type="module" src="([^"]+)"><\/script>/);
    assert(script, "the boot script is linked");
    assert(
      !/<script(?! type="module" src=)(?! type="application\/json")/.test(html),
      "no inline script",
    );
    const csp = page.headers.get("content-security-policy") ?? "";
    // WebAssembly may be compiled ('wasm-unsafe-eval'); JavaScript eval may not.
    assert(csp.includes("script-src 'self' blob: 'wasm-unsafe-eval'"), csp);
    assert(!csp.includes("'unsafe-eval'"), csp);
    assert(csp.includes("frame-ancestors 'none'"), csp);
    assertEquals(page.headers.get("x-content-type-options"), "nosniff");
    assertEquals(page.headers.get("referrer-policy"), "no-referrer");
    const chunk = await fetch(base + script[1]);
    assertEquals(chunk.status, 200);
    assert(chunk.headers.get("cache-control")?.includes("immutable"));
    await chunk.body?.cancel();

    for (
      const [path, message] of [
        ["/meeting/a.b/standup", "The user id &quot;a.b&quot; may only contain"],
        ["/meeting/ada/%E0%A4%A", ""],
        [`/meeting/ada/${"m".repeat(65)}`, "longer than 64 characters"],
      ]
    ) {
      const response = await fetch(base + path);
      assertEquals(response.status, 400, path);
      assert((await response.text()).includes(message), path);
    }
  });
});

Deno.test("unknown pages get the HTML 404 page; unknown API paths keep JSON errors", async () => {
  await withServer({}, async (h) => {
    const base = h.server.httpUrl;
    const page = await fetch(`${base}/no/such/page`);
    assertEquals(page.status, 404);
    assert((await page.text()).includes("Page not found"));
    const api = await fetch(`${base}/api/v2/nothing`);
    assertEquals(api.status, 404);
    assertEquals((await api.json()).success, false);
    const css = await fetch(`${base}/styles.css`);
    assertEquals(css.status, 200);
    assert(css.headers.get("content-type")?.startsWith("text/css"));
    const etag = css.headers.get("etag")!;
    await css.body?.cancel();
    const again = await fetch(`${base}/styles.css`, { headers: { "if-none-match": etag } });
    assertEquals(again.status, 304);
    await again.body?.cancel();
    const traversal = await fetch(`${base}/..%2f..%2fdeno.json`);
    assertEquals(traversal.status, 404);
    await traversal.body?.cancel();
  });
});
