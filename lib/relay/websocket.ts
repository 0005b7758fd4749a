/**
 * The WebSocket transport: upgrades an HTTP request and turns the socket into a relay
 * {@linkcode Session}. One binary message is one PacketWrapper, both ways.
 *
 * @module
 */
import { CloseCode } from "../protocol/close_codes.ts";
import type { Logger } from "../log.ts";
import type { Relay } from "./relay.ts";
import type { Session, Transport } from "./session.ts";

/** Who the connection belongs to; validated by the caller. */
export interface WebSocketIdentity {
  userId: string;
  roomId: string;
  displayName?: string;
  resumeSessionId?: bigint;
}

/**
 * Upgrades `request` to a WebSocket whose packets go through `relay`. The caller has checked
 * that it is an upgrade request and that the identity is valid.
 */
export function acceptWebSocket(
  request: Request,
  relay: Relay,
  identity: WebSocketIdentity,
  log: Logger,
): Response {
  const { socket, response } = Deno.upgradeWebSocket(request, {
    // Deno pings after this many idle seconds and closes when no pong follows.
    idleTimeout: Math.max(1, Math.round(relay.limits.pingIntervalMs / 1000)),
  });
  socket.binaryType = "arraybuffer";
  let session: Session | undefined;
  const transport: Transport = {
    kind: "websocket",
    bufferedBytes: () => socket.bufferedAmount,
    send: (packet) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(packet);
    },
    close: (code, reason) => {
      if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) {
        socket.close(code, reason);
      }
    },
  };
  socket.onopen = () => {
    if (!relay.accepting) {
      socket.close(CloseCode.GOING_AWAY, "Server is shutting down");
      return;
    }
    session = relay.attach({ ...identity, transport });
  };
  socket.onmessage = (event: MessageEvent) => {
    if (session === undefined) return;
    if (typeof event.data === "string") {
      relay.metrics.rejected.inc("text_frame");
      session.close(
        CloseCode.UNSUPPORTED_DATA,
        "Text frames are not accepted; send binary packets",
      );
      return;
    }
    session.receive(new Uint8Array(event.data as ArrayBuffer));
  };
  socket.onclose = (event: CloseEvent) => {
    session?.transportClosed(event.code, event.reason);
  };
  socket.onerror = (event: Event) => {
    const message = event instanceof ErrorEvent ? event.message : "error";
    log.debug("websocket_error", { session: session?.id, error: message });
  };
  return response;
}
