/**
 * The compose stack without Docker: the servers run with compose.yaml's settings on this
 * machine's NATS and PostgreSQL, behind Debian's nginx running deploy/compose/nginx.conf (only
 * its upstream addresses and ports replaced). Two Chromium pages hold a call through the
 * balancer; SIGTERM — what `docker compose stop` sends — drains a server mid-call, nginx sends the
 * reconnects that the draining server answers with 503 to the other one, and neither page sees a
 * leave. What Docker would add (images, the compose network, restart policies) is not run here.
 */
import { parse as parseYaml } from "yaml";
import { assert, assertEquals } from "./support/assert.ts";
import { browserTestsIgnored, withBrowser } from "./support/browser.ts";
import { testDatabase } from "./support/database.ts";
import { eventually, uniqueRoom } from "./support/harness.ts";
import { joinMeeting, type MeetingPage, waitFor, waitForMedia } from "./support/meeting_page.ts";
import { freePort, sharedNatsUrl } from "./support/nats.ts";
import { type Nginx, nginxIgnored, startNginx } from "./support/nginx.ts";
import { framesDecoded, noticesShown } from "./support/page_probe.ts";
import { type ServerProcess, startServerProcess } from "./support/server_process.ts";

const natsUrl = await sharedNatsUrl();

/** compose.yaml's environment for the servers, `${VAR:-default}` read as its default. */
async function composeServerEnv(): Promise<Record<string, string>> {
  const text = await Deno.readTextFile(new URL("../compose.yaml", import.meta.url));
  const compose = parseYaml(text, { merge: true });
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(compose.services["server-a"].environment)) {
    env[key] = String(value).replace(/\$\{[A-Z_]+:?-([^}]*)\}/g, "$1");
  }
  return env;
}

Deno.test({
  name:
    "behind the compose balancer (nginx), two pages in a call: a server drained mid-call by SIGTERM hands both to the other, media flows again, nobody sees a leave",
  ignore: natsUrl === undefined || browserTestsIgnored() || nginxIgnored(),
  async fn() {
    const db = await testDatabase();
    const [portA, portB, portLb, portUdp] = await Promise.all(
      [freePort(), freePort(), freePort(), freePort()],
    );
    const composed = await composeServerEnv();
    assertEquals(composed.TRUST_PROXY, "on");
    const env = {
      ...composed,
      // This machine's services and a secret of the test's own instead of compose's.
      NATS_URL: natsUrl!,
      ...db.env,
      JWT_SECRET: "balancer-test-secret-0123456789-abcdefgh",
      ADMIN_TOKEN: "",
      PUBLIC_URL: `http://127.0.0.1:${portLb}`,
      // QUIC is UDP, which Chromium here would reach with a self-signed certificate only.
      WT_PORT: "off",
    };
    const servers: Record<string, ServerProcess> = {};
    const stopped = new Set<string>();
    let nginx: Nginx | undefined;
    let ada: MeetingPage | undefined;
    let bob: MeetingPage | undefined;
    const balancer = `http://127.0.0.1:${portLb}`;
    try {
      const a = servers.a = await startServerProcess({ ...env, PORT: String(portA) });
      const b = servers.b = await startServerProcess({ ...env, PORT: String(portB) });
      nginx = await startNginx(
        await Deno.readTextFile(new URL("../deploy/compose/nginx.conf", import.meta.url)),
        {
          "server-a:8080": `127.0.0.1:${portA}`,
          "server-b:8080": `127.0.0.1:${portB}`,
          "server-a:4433": `127.0.0.1:${portUdp}`,
          "server-b:4433": `127.0.0.1:${portUdp}`,
          "listen 8080;": `listen 127.0.0.1:${portLb};`,
          "listen 4433 udp;": `listen 127.0.0.1:${portUdp} udp;`,
        },
      );
      await eventually(async () => await a.metric("videocall_cluster_instances") >= 2, 10_000);
      await withBrowser(async (browser) => {
        const room = uniqueRoom("lb");
        ada = await joinMeeting(browser, balancer, "ada", "Ada", room);
        const sessions = async () => ({
          a: await a.metric("videocall_sessions"),
          b: await b.metric("videocall_sessions"),
        });
        // A page on each server: the balancer's round robin decides where Bob's connection
        // lands. A page makes the same number of requests each time, so Bob opens it again
        // after one more request through the balancer (at most four times) until it lands on
        // the other server.
        for (let attempt = 1;; attempt++) {
          // A new id each time: the id a closed page took stays bound to its guest session.
          bob = await joinMeeting(browser, balancer, `bob${attempt}`, "Bob", room);
          const now = await sessions();
          if (now.a === 1 && now.b === 1) break;
          assert(attempt < 4, `both pages stayed on one server: ${JSON.stringify(now)}`);
          await bob.close();
          await (await fetch(`${balancer}/healthz`)).body?.cancel();
          await eventually(async () => {
            const s = await sessions();
            return s.a + s.b === 1;
          }, 15_000);
        }
        for (const [who, p] of [["ada", ada], ["bob", bob]] as const) {
          await waitForMedia(p.page, who, 15, 25);
        }
        const [drained, other] = ["a", "b"];
        const before = [await framesDecoded(ada.page), await framesDecoded(bob.page)];
        const noticesBefore = [
          (await noticesShown(ada.page)).length,
          (await noticesShown(bob.page)).length,
        ];
        const exit = servers[drained].stop();
        stopped.add(drained);
        assertEquals(await exit, 0);
        const finished = servers[drained].logs.find((r) => r.event === "drain_finished");
        assertEquals(finished?.settled, true, JSON.stringify(finished));
        await eventually(
          async () => await servers[other].metric("videocall_sessions") === 2,
          15_000,
          "both pages on the remaining server",
        );
        for (const [i, p] of [ada, bob].entries()) {
          await waitFor(
            p.page,
            "video again after the drain",
            async () => await framesDecoded(p.page) > before[i] + 10,
            15_000,
          );
          const shown = (await noticesShown(p.page)).slice(noticesBefore[i]);
          assert(!shown.some((n) => n.endsWith(" left")), `a leave was shown: ${shown}`);
        }
        assertEquals(await servers[other].metric("videocall_sessions"), 2);
      });
    } finally {
      await ada?.close();
      await bob?.close();
      await nginx?.stop();
      for (const [name, server] of Object.entries(servers)) {
        if (!stopped.has(name)) await server.stop();
      }
      await db.cleanup();
    }
  },
});
