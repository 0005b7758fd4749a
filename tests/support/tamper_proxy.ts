/**
 * A stand-in for a malicious relay: an HTTP and WebSocket proxy in front of a real server that
 * hands every packet the server sends to a client through `tamper` first (which may change it).
 * Clients connect to the proxy's origin as if it were the server. Loopback only.
 *
 * @module
 */
import WebSocketNode from "ws";

/** A running proxy. */
export interface TamperProxy {
  /** The proxy's HTTP origin, to give clients instead of the server's. */
  origin: string;
  close(): Promise<void>;
}

/** Starts a proxy to `target` (an HTTP origin) that rewrites server-to-client packets. */
export function startTamperProxy(
  target: string,
  tamper: (packet: Uint8Array) => Uint8Array,
): TamperProxy {
  const sockets = new Set<{ close(): void }>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const url = new URL(request.url);
    const upstreamUrl = `${target}${url.pathname}${url.search}`;
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return fetch(upstreamUrl, {
        method: request.method,
        headers: request.headers,
        body: request.body,
      });
    }
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.binaryType = "arraybuffer";
    const upstream = new WebSocketNode(upstreamUrl.replace(/^http/, "ws"), {
      perMessageDeflate: false,
    });
    sockets.add(upstream);
    sockets.add(socket);
    const early: ArrayBuffer[] = [];
    socket.onmessage = (event) => {
      if (upstream.readyState === WebSocketNode.OPEN) upstream.send(event.data);
      else early.push(event.data);
    };
    upstream.on("open", () => {
      for (const data of early.splice(0)) upstream.send(data);
    });
    upstream.on("message", (data: Buffer) => {
      if (socket.readyState !== WebSocket.OPEN) return;
      socket.send(tamper(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
    });
    const closeBoth = () => {
      try {
        socket.close();
      } catch {
        // Already closed.
      }
      upstream.close();
    };
    upstream.on("close", closeBoth);
    upstream.on("error", closeBoth);
    socket.onclose = closeBoth;
    return response;
  });
  return {
    origin: `http://127.0.0.1:${server.addr.port}`,
    async close() {
      for (const s of sockets) s.close();
      await server.shutdown();
    },
  };
}
