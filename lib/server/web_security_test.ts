import { assertEquals } from "../../tests/support/assert.ts";
import { contentSecurityPolicy } from "./web_security.ts";

Deno.test("the CSP lists only plain pool origins: a host name carrying a directive is left out", () => {
  const csp = contentSecurityPolicy("meet.local", [
    "https://b.example.org:8443/",
    "https://x;sandbox",
    "https://evil.example connect-src *",
  ]);
  const connect = csp.split("; ").find((d) => d.startsWith("connect-src"))!;
  assertEquals(connect.split(" ").at(-1), "https://b.example.org:8443");
  assertEquals(csp.includes("sandbox"), false);
  assertEquals(csp.split("; ").filter((d) => d.startsWith("connect-src")).length, 1);
});
