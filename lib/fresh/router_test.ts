import { assertEquals } from "../../tests/support/assert.ts";
import { HttpError } from "./http_error.ts";
import { patternOf, Router, routeSegments, splitPath } from "./router.ts";

function router(...files: string[]): Router<string> {
  const r = new Router<string>();
  for (const file of files) r.add(routeSegments(file), file);
  return r;
}

Deno.test("routeSegments() - index, groups, params and catch-alls", () => {
  assertEquals(patternOf(routeSegments("index")), "/");
  assertEquals(patternOf(routeSegments("(app)/rooms/index")), "/rooms");
  assertEquals(patternOf(routeSegments("rooms/[id]/(x)/chat")), "/rooms/:id/chat");
  assertEquals(patternOf(routeSegments("files/[...path]")), "/files/:path*");
});

Deno.test("routeSegments() - refuses malformed segments", () => {
  for (const file of ["a[id]", "[id", "[a-b]", "[...rest]/more", "[]"]) {
    let threw = false;
    try {
      routeSegments(file);
    } catch {
      threw = true;
    }
    assertEquals(threw, true, file);
  }
});

Deno.test("Router - precedence: static, then parameter, then catch-all", () => {
  const r = router("[...all]", "[a]/[b]", "x/[b]", "x/y", "x/[...rest]", "index");
  const match = (path: string) => r.match(splitPath(path))?.value;
  assertEquals(match("/"), "index");
  assertEquals(match("/x/y"), "x/y");
  assertEquals(match("/x/z"), "x/[b]");
  assertEquals(match("/q/z"), "[a]/[b]");
  assertEquals(match("/x/y/z"), "x/[...rest]");
  assertEquals(match("/q/z/w"), "[...all]");
  assertEquals(match("/q"), "[...all]");
  assertEquals(r.patterns, ["/", "/x/y", "/x/:b", "/x/:rest*", "/:a/:b", "/:all*"]);
});

Deno.test("Router - the same pattern twice is refused, whatever the names", () => {
  let message = "";
  try {
    router("rooms/[id]", "(g)/rooms/[room]");
  } catch (error) {
    message = (error as Error).message;
  }
  assertEquals(message, 'Two routes answer the same path pattern "/rooms/:room"');
});

Deno.test("Router - no match without a route for the path", () => {
  const r = router("a/b");
  assertEquals(r.match(splitPath("/a")), null);
  assertEquals(r.match(splitPath("/a/b/c")), null);
});

Deno.test("splitPath() - decodes segments, drops empty ones, and refuses bad encoding", () => {
  assertEquals(splitPath("/a//b%20c/%2F/"), ["a", "b c", "/"]);
  let error: unknown;
  try {
    splitPath("/%zz");
  } catch (e) {
    error = e;
  }
  assertEquals(error instanceof HttpError && error.status, 400);
});
