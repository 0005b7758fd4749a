/**
 * HTTPS=on: the server serves pages, the API and WebSocket over TLS on PORT with CERT_PATH and
 * KEY_PATH, a client that trusts the certificate joins over WSS, and plain HTTP on that port gets
 * nowhere.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { startServerProcess } from "./support/server_process.ts";
import { WireClient } from "./support/wire_client.ts";
import { uniqueRoom } from "./support/harness.ts";
import { generateCertificate } from "../lib/relay/certificate.ts";
import { loadConfig } from "../lib/server/config.ts";

Deno.test("HTTPS=on without a certificate is a configuration error that says what is missing", () => {
  const result = loadConfig([], { HTTPS: "on" });
  assert(!result.ok);
  assert(result.error.includes("HTTPS=on needs CERT_PATH and KEY_PATH"), result.error);
});

Deno.test("with HTTPS=on the server answers HTTPS and WSS, sends HSTS, and refuses plain HTTP", async () => {
  const cert = await generateCertificate({});
  const dir = await Deno.makeTempDir({ prefix: "https-test-" });
  await Deno.writeTextFile(`${dir}/cert.pem`, cert.certPem);
  await Deno.writeTextFile(`${dir}/key.pem`, cert.keyPem);
  const server = await startServerProcess({
    HTTPS: "on",
    CERT_PATH: `${dir}/cert.pem`,
    KEY_PATH: `${dir}/key.pem`,
  });
  try {
    assert(server.httpUrl.startsWith("https://"), server.httpUrl);
    const health = await server.fetch("/healthz");
    assertEquals(health.status, 200);
    await health.body?.cancel();
    const page = await server.fetch("/");
    assertEquals(page.status, 200);
    assertEquals(page.headers.get("strict-transport-security"), "max-age=31536000");
    await page.body?.cancel();
    // A WebSocket client that trusts the certificate joins over WSS.
    const client = await WireClient.connect(server.wsUrl, "ada", uniqueRoom(), "", server.ca);
    assert(client.sessionId > 0n, "the WSS client got a session");
    await client.close();
    // Plain HTTP on the TLS port gets no answer a browser could use.
    const plain = await fetch(`http://127.0.0.1:${server.port}/healthz`).then(
      async (r) => {
        await r.body?.cancel();
        return r.status;
      },
      () => "refused",
    );
    assertEquals(plain, "refused");
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
