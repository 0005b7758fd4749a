/**
 * Joins a meeting over WebSocket as a wire-format client and prints the session the server
 * assigned: `deno run --allow-net --allow-env --allow-read tools/ws_join.ts ws://host:port`.
 * Exits 1 when the join fails. Used by `deno task image:verify`.
 *
 * @module
 */
import { WireClient } from "../tests/support/wire_client.ts";

const base = Deno.args[0];
if (base === undefined || !/^wss?:\/\//.test(base)) {
  console.error("usage: tools/ws_join.ts ws://host:port");
  Deno.exit(2);
}
try {
  const client = await WireClient.connect(base, "verify", `image-check-${Date.now().toString(36)}`);
  console.log(`WebSocket join ok: session ${client.sessionId}`);
  await client.close();
} catch (error) {
  console.error(`WebSocket join failed: ${error instanceof Error ? error.message : error}`);
  Deno.exit(1);
}
