import { assert, assertEquals } from "../../tests/support/assert.ts";
import { clearSessionCookie, sessionCookie, tokenFromRequest } from "./request_token.ts";

function request(path: string, headers: [string, string][] = []): Request {
  const init = new Headers();
  for (const [name, value] of headers) init.append(name, value);
  return new Request(`http://localhost${path}`, { headers: init });
}

const MEDIA = { allowQuery: true };

Deno.test("tokenFromRequest() prefers the Bearer header, then ?token= if allowed, then the cookie", () => {
  const all = request("/lobby?token=q.q.q", [
    ["authorization", "Bearer h.h.h"],
    ["cookie", "vc_session=c.c.c"],
  ]);
  assertEquals(tokenFromRequest(all, MEDIA), { token: "h.h.h", source: "header" });

  const noHeader = request("/lobby?token=q.q.q", [["cookie", "vc_session=c.c.c"]]);
  assertEquals(tokenFromRequest(noHeader, MEDIA), { token: "q.q.q", source: "query" });
  assertEquals(tokenFromRequest(noHeader), { token: "c.c.c", source: "cookie" });
  assertEquals(tokenFromRequest(request("/lobby?token=q.q.q")), undefined);
  assertEquals(tokenFromRequest(request("/")), undefined);
});

Deno.test("tokenFromRequest() reads the Bearer scheme in any case and ignores other schemes", () => {
  for (const header of ["Bearer t.t.t", "bearer t.t.t", "BEARER \t t.t.t  "]) {
    assertEquals(tokenFromRequest(request("/", [["authorization", header]]))?.token, "t.t.t");
  }
  const basic = request("/", [["authorization", "Basic YTpi"], ["cookie", "vc_session=c.c.c"]]);
  assertEquals(tokenFromRequest(basic), { token: "c.c.c", source: "cookie" });
  assertEquals(tokenFromRequest(request("/", [["authorization", "Bearert.t.t"]])), undefined);
});

Deno.test("tokenFromRequest() returns a malformed Bearer header as is, for verification to refuse", () => {
  const empty = tokenFromRequest(
    request("/", [["authorization", "Bearer"], ["cookie", "vc_session=c"]]),
  );
  assertEquals(empty, { token: "", source: "header" });
  const twice = request("/", [["authorization", "Bearer a.a.a"], [
    "authorization",
    "Bearer b.b.b",
  ]]);
  assertEquals(tokenFromRequest(twice), { token: "a.a.a, Bearer b.b.b", source: "header" });
});

Deno.test("tokenFromRequest() finds the session cookie among others, quoted or not", () => {
  const cases: [string, string | undefined][] = [
    ["vc_session=t.t.t", "t.t.t"],
    ["theme=dark; vc_session=t.t.t; lang=en", "t.t.t"],
    ["theme=dark;vc_session=t.t.t", "t.t.t"],
    ['vc_session="t.t.t"', "t.t.t"],
    ["vc_session=first.t.t; vc_session=second.t.t", "first.t.t"],
    ["vc_session=; vc_session=second.t.t", "second.t.t"],
    ["xvc_session=t.t.t; vc_sessionx=t.t.t", undefined],
    ["=;;=x; vc_session; ;;", undefined],
    ["vc_session", undefined],
    ["", undefined],
  ];
  for (const [cookie, token] of cases) {
    assertEquals(tokenFromRequest(request("/", [["cookie", cookie]]))?.token, token, cookie);
  }
  const split = request("/", [["cookie", "a=1"], ["cookie", "vc_session=t.t.t"]]);
  assertEquals(tokenFromRequest(split)?.token, "t.t.t");
});

// How long hostile headers take is measured by `deno task bench:parsers`, not asserted here.
Deno.test("tokenFromRequest() survives huge and hostile headers", () => {
  const huge = "a=" + "x".repeat(1_000_000);
  assertEquals(tokenFromRequest(request("/", [["cookie", huge]])), undefined);
  assertEquals(tokenFromRequest(request("/", [["cookie", ";".repeat(1_000_000)]])), undefined);
  assertEquals(
    tokenFromRequest(request("/", [["cookie", "vc_session=" + "=".repeat(500_000)]]))
      ?.source,
    "cookie",
  );
  // A session cookie buried after 16 KiB of other cookies is not looked for.
  const buried = `${"a=b; ".repeat(4000)}vc_session=t.t.t`;
  assertEquals(tokenFromRequest(request("/", [["cookie", buried]])), undefined);
  const header = tokenFromRequest(
    request("/", [["authorization", "Bearer " + "y".repeat(1_000_000)]]),
  );
  assertEquals(header?.source, "header");
  assert((header?.token.length ?? 0) <= 16_384);
});

Deno.test("tokenFromRequest() takes the first ?token= and ignores an empty one", () => {
  assertEquals(tokenFromRequest(request("/lobby?token=a.a.a&token=b.b.b"), MEDIA)?.token, "a.a.a");
  assertEquals(tokenFromRequest(request("/lobby?token="), MEDIA), undefined);
  assertEquals(tokenFromRequest(request("/lobby?token=%E2%82%AC"), MEDIA)?.token, "€");
  assertEquals(tokenFromRequest(request("/lobby?token=%ZZ"), MEDIA)?.token, "%ZZ");
});

Deno.test("sessionCookie() builds an HttpOnly, SameSite=Lax cookie, Secure when asked", () => {
  assertEquals(
    sessionCookie("a.b.c", 600, false),
    "vc_session=a.b.c; Max-Age=600; Path=/; HttpOnly; SameSite=Lax",
  );
  assertEquals(
    sessionCookie("a.b.c", 600, true),
    "vc_session=a.b.c; Max-Age=600; Path=/; HttpOnly; SameSite=Lax; Secure",
  );
  assertEquals(
    clearSessionCookie(true),
    "vc_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax; Secure",
  );
});

Deno.test("sessionCookie() refuses values that could inject attributes or headers", () => {
  for (
    const token of ["a; Domain=evil.example", "a\r\nSet-Cookie: x=y", "a b", 'a"b', "a,b", "é"]
  ) {
    let threw = false;
    try {
      sessionCookie(token, 60, true);
    } catch (error) {
      threw = error instanceof TypeError;
    }
    assert(threw, JSON.stringify(token));
  }
  for (const age of [-1, 1.5, Number.NaN, Infinity]) {
    let threw = false;
    try {
      sessionCookie("a.b.c", age, true);
    } catch (error) {
      threw = error instanceof RangeError;
    }
    assert(threw, String(age));
  }
});
