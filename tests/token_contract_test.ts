/**
 * README's token contract ("Tokens from your own backend"), held to by a token made the way another
 * language's backend would make it — HS256 over the documented claims with WebCrypto, no JWT
 * library of ours — against a server with `AUTH=required`.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { startServerProcess } from "./support/server_process.ts";
import { WireClient } from "./support/wire_client.ts";
import { uniqueRoom } from "./support/harness.ts";

const SECRET = "a-backend-secret-that-is-32-bytes-or-more";

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}

async function handMadeToken(claims: Record<string, unknown>): Promise<string> {
  const encode = (value: unknown) => base64url(new TextEncoder().encode(JSON.stringify(value)));
  const signingInput = `${encode({ alg: "HS256", typ: "JWT" })}.${encode(claims)}`;
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(SECRET),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const signature = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(signingInput));
  return `${signingInput}.${base64url(new Uint8Array(signature))}`;
}

Deno.test("a token with README's claims, signed by hand, joins an AUTH=required server as host; a wrong issuer does not", async () => {
  const server = await startServerProcess({ AUTH: "required", JWT_SECRET: SECRET });
  try {
    const room = uniqueRoom();
    const exp = Math.floor(Date.now() / 1000) + 600;
    const token = await handMadeToken({
      iss: "videocall-ts",
      sub: "ada",
      room,
      role: "host",
      name: "Ada Lovelace",
      exp,
    });
    const ada = await WireClient.connect(server.wsUrl, "ada", room, `?token=${token}`);
    assert(ada.sessionId > 0n);
    // The API takes it as a bearer token, and she is the host.
    const meeting = await server.fetch(`/api/v1/meetings/${room}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assertEquals(meeting.status, 200);
    const body = await meeting.json();
    assertEquals(body.result.host, "ada");
    await ada.close();
    const foreign = await handMadeToken({ iss: "someone-else", sub: "bob", exp });
    const refused = await WireClient.connect(server.wsUrl, "bob", room, `?token=${foreign}`).then(
      () => "joined",
      (error: Error) => error.message,
    );
    assertEquals(refused, "HTTP 401");
  } finally {
    await server.stop();
  }
});
