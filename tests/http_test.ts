/**
 * The operational HTTP endpoints and start-up errors.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { uniqueRoom, withServer } from "./support/harness.ts";
import { MediaType } from "../lib/protocol/packets.ts";

Deno.test("healthz, readyz, version and metrics answer on the default in-process bus", async () => {
  await withServer({}, async (h) => {
    const health = await fetch(`${h.server.httpUrl}/healthz`);
    assertEquals([health.status, await health.text()], [200, "ok\n"]);
    const ready = await fetch(`${h.server.httpUrl}/readyz`);
    assertEquals([ready.status, await ready.text()], [200, "ready\n"]);
    const version = await (await fetch(`${h.server.httpUrl}/version`)).json();
    assertEquals(version.name, "videocall.ts");
    assertEquals(version.bus, "memory");
    assert(/^\d+\.\d+\.\d+$/.test(version.version), version.version);

    const room = uniqueRoom();
    const alice = await h.joinActive("alice", room);
    const bob = await h.joinActive("bob", room, [alice]);
    alice.sendMedia({ mediaType: MediaType.AUDIO, data: new Uint8Array(90) });
    await bob.next((r) => r.userId === "alice");
    const response = await fetch(`${h.server.httpUrl}/metrics`);
    assert(response.headers.get("content-type")!.startsWith("text/plain"));
    const text = await response.text();
    for (
      const line of [
        "videocall_sessions 2",
        "videocall_rooms 1",
        "videocall_bus_connected 1",
        'videocall_packets_in_total{type="media"} 3',
        'videocall_packets_out_total{class="audio"} 1',
        "# TYPE videocall_drops_total counter",
        "# TYPE videocall_bus_reconnects_total counter",
      ]
    ) {
      assert(text.includes(line + "\n"), `metrics should contain "${line}":\n${text}`);
    }
  });
});

Deno.test("unknown API paths get 404 and wrong methods 405, as JSON errors; other paths the 404 page", async () => {
  await withServer({}, async (h) => {
    const missing = await fetch(`${h.server.httpUrl}/api/nope`);
    assertEquals(missing.status, 404);
    assertEquals((await missing.json()).result.code, "not_found");
    const page = await fetch(`${h.server.httpUrl}/nope`);
    assertEquals(page.status, 404);
    assert((await page.text()).startsWith("<!DOCTYPE html>"));
    const post = await fetch(`${h.server.httpUrl}/metrics`, { method: "POST", body: "x" });
    assertEquals(post.status, 405);
    assertEquals((await post.json()).result.message, "POST is not allowed on /metrics");
    const lobbyPost = await fetch(`${h.server.httpUrl}/lobby/a/b`, { method: "POST" });
    assertEquals(lobbyPost.status, 405);
    await lobbyPost.body?.cancel();
  });
});

Deno.test("an invalid configuration stops start-up with exit code 2 and says what is wrong", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-sys",
      "main.ts",
      "--port",
      "99999",
    ],
    cwd: new URL("../", import.meta.url),
    env: { NATS_URL: "" },
    stdout: "null",
    stderr: "piped",
  }).output();
  assertEquals(output.code, 2);
  const stderr = new TextDecoder().decode(output.stderr);
  assert(
    stderr.includes("Invalid configuration: PORT must be between 0 and 65535, got 99999"),
    stderr,
  );
});
