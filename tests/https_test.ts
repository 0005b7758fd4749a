/**
 * HTTPS=on: the server serves pages, the API and WebSocket over TLS on PORT with CERT_PATH and
 * KEY_PATH, a client that trusts the certificate joins over WSS, so do Chromium pages, plain HTTP on that port gets
 * nowhere, new certificate files are picked up without a restart, and HTTP_REDIRECT_PORT sends
 * plain HTTP to HTTPS.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { type ServerProcess, startServerProcess } from "./support/server_process.ts";
import { WireClient } from "./support/wire_client.ts";
import { eventually, uniqueRoom } from "./support/harness.ts";
import { generateCertificate } from "../lib/relay/certificate.ts";
import { loadConfig } from "../lib/server/config.ts";
import { MediaType, MeetingEventType, PacketType } from "../lib/protocol/packets.ts";
import { decodeMeetingPacket } from "../lib/protocol/codec.ts";
import { type BrowserPage, browserTestsIgnored, openPage, withBrowser } from "./support/browser.ts";
import { waitForMedia, waitForScreen } from "./support/meeting_page.ts";
import { pageProbe } from "./support/page_probe.ts";

// A server with HTTPS=on and `cert` in files of a temporary directory (removed by the caller).
async function httpsServer(
  cert: { certPem: string; keyPem: string },
  env: Record<string, string> = {},
): Promise<{ server: ServerProcess; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "https-test-" });
  await Deno.writeTextFile(`${dir}/cert.pem`, cert.certPem);
  await Deno.writeTextFile(`${dir}/key.pem`, cert.keyPem);
  const server = await startServerProcess({
    HTTPS: "on",
    CERT_PATH: `${dir}/cert.pem`,
    KEY_PATH: `${dir}/key.pem`,
    ...env,
  });
  return { server, dir };
}

Deno.test("HTTPS=on without a certificate is a configuration error that says what is missing", () => {
  const result = loadConfig([], { HTTPS: "on" });
  assert(!result.ok);
  assert(result.error.includes("HTTPS=on needs CERT_PATH and KEY_PATH"), result.error);
});

Deno.test("with HTTPS=on the server answers HTTPS and WSS, sends HSTS, and refuses plain HTTP", async () => {
  const { server, dir } = await httpsServer(await generateCertificate({}));
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

// Whether a fresh connection to `origin`, trusting only `ca`, gets an answer.
async function trusts(origin: string, ca: string): Promise<boolean> {
  const client = Deno.createHttpClient({ caCerts: [ca] });
  try {
    const response = await fetch(`${origin}/healthz`, { client });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  } finally {
    client.close();
  }
}

Deno.test("new certificate files are served without a restart (calls resume across the change), and plain HTTP is redirected", async () => {
  const first = await generateCertificate({});
  const second = await generateCertificate({});
  const { server, dir } = await httpsServer(first, { HTTP_REDIRECT_PORT: "0" });
  try {
    assert(await trusts(server.httpUrl, first.certPem), "the first certificate is served");
    assert(!await trusts(server.httpUrl, second.certPem), "the second is not yet");
    // Two people in a call across the change.
    const room = uniqueRoom();
    const sam = await WireClient.connect(server.wsUrl, "sam", room, "", server.ca);
    sam.heartbeat();
    const ada = await WireClient.connect(server.wsUrl, "ada", room, "", server.ca);
    ada.heartbeat();
    await sam.nextMeetingEvent(MeetingEventType.PARTICIPANT_JOINED, ada.sessionId);
    await Deno.writeTextFile(`${dir}/cert.pem`, second.certPem);
    await Deno.writeTextFile(`${dir}/key.pem`, second.keyPem);
    await eventually(() => trusts(server.httpUrl, second.certPem), 20_000, "the new certificate");
    assert(!await trusts(server.httpUrl, first.certPem), "the old one is no longer served");
    assert(server.logs.some((r) => r.event === "https_certificate_reloaded"));
    // Deno closes the old listener's WebSockets (1001); a client resumes its session on the new
    // one, as the client library does, and nobody sees it leave.
    assertEquals((await ada.closed).code, 1001);
    const back = await WireClient.connect(
      server.wsUrl,
      "ada",
      room,
      `?resume=${ada.sessionId}`,
      second.certPem,
    );
    assertEquals(back.sessionId, ada.sessionId);
    back.sendMedia({ mediaType: MediaType.AUDIO, data: new Uint8Array([7]) });
    await sam.next((r) => r.wrapper.packetType === PacketType.MEDIA && r.userId === "ada", 5000);
    const left = sam.received.filter((r) => {
      if (r.wrapper.packetType !== PacketType.MEETING) return false;
      const m = decodeMeetingPacket(r.wrapper.data);
      return m.ok && m.value.eventType === MeetingEventType.PARTICIPANT_LEFT;
    });
    assertEquals(left.length, 0, "nobody saw ada leave");
    await back.close();
    await sam.close();

    const redirectPort = server.logs.find((r) => r.event === "listening")?.redirectPort;
    assert(typeof redirectPort === "number" && redirectPort > 0, String(redirectPort));
    const plain = await fetch(`http://127.0.0.1:${redirectPort}/meeting/ada/standup?x=1`, {
      redirect: "manual",
    });
    assertEquals(plain.status, 308);
    assertEquals(
      plain.headers.get("location"),
      `https://127.0.0.1:${server.port}/meeting/ada/standup?x=1`,
    );
    await plain.body?.cancel();
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("HTTP_REDIRECT_PORT without HTTPS=on is a configuration error", () => {
  const result = loadConfig([], { HTTP_REDIRECT_PORT: "8081" });
  assert(!result.ok);
  assert(result.error.includes("it needs HTTPS=on"), result.error);
});

Deno.test({
  name:
    "Chromium pages join over HTTPS — one by WSS, one as it chooses — see each other's video, and get HSTS",
  ignore: browserTestsIgnored(),
  async fn() {
    const { server, dir } = await httpsServer(await generateCertificate({}));
    const pages: BrowserPage[] = [];
    try {
      await withBrowser(async (browser) => {
        const room = uniqueRoom("https");
        for (const [user, transport] of [["ada", "&transport=websocket"], ["bob", ""]]) {
          const url = `https://127.0.0.1:${server.port}/meeting/${user}/${room}` +
            `?autojoin=1&height=240${transport}`;
          const opened = await openPage(browser, url, { init: pageProbe, ignoreHttpsErrors: true });
          pages.push(opened);
          await waitForScreen(opened.page, "in-call", 20_000);
        }
        for (const [i, p] of pages.entries()) await waitForMedia(p.page, `page ${i}`, 15, 25);
        const shown = await pages[0].page.textContent('[data-testid="transport"]');
        assert(shown?.startsWith("WebSocket"), `the transport shown: ${shown}`);
        const response = await pages[0].page.goto(pages[0].url);
        assertEquals(response?.headers()["strict-transport-security"], "max-age=31536000");
      });
    } finally {
      for (const p of pages) await p.close();
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
