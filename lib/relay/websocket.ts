/**
 * The WebSocket transport: upgrades an HTTP request and turns the socket into a relay
 * {@linkcode Session}. One binary message is one PacketWrapper, both ways.
 *
 * @module
 */
import { CloseCode, fitCloseReason, Refusal } from "../protocol/close_codes.ts";
import type { Logger } from "../log.ts";
import type { Relay } from "./relay.ts";
import type { AdmittedIdentity } from "./admission.ts";
import type { Session, Transport } from "./session.ts";

let openSockets = 0;

/** WebSockets accepted and not yet closed (shutdown waits for them to finish closing). */
export function openWebSocketCount(): number {
  return openSockets;
}

/**
 * Upgrades `request` to a WebSocket whose packets go through `relay`. The caller has checked
 * that it is an upgrade request and that the identity is valid.
 */
export function acceptWebSocket(
  request: Request,
  relay: Relay,
  identity: AdmittedIdentity,
  log: Logger,
  onClosed?: () => void,
): Response {
  const { socket, response } = Deno.upgradeWebSocket(request, {
    // Deno pings after this many idle seconds and closes when no pong follows.
    idleTimeout: Math.max(1, Math.round(relay.limits.pingIntervalMs / 1000)),
  });
  socket.binaryType = "arraybuffer";
  openSockets++;
  let session: Session | undefined;
  let lastMessageMs = 0;
  let closing = false;
  const transport: Transport = {
    kind: "websocket",
    bufferedBytes: () => socket.bufferedAmount,
    send: (packet) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(packet);
    },
    close: (code, reason) => {
      if (closing) return;
      closing = true;
      closeAfterQuiet(socket, () => lastMessageMs, code, reason);
    },
  };
  socket.onopen = () => {
    if (!relay.accepting) {
      socket.close(CloseCode.GOING_AWAY, Refusal.SHUTTING_DOWN);
      return;
    }
    session = relay.attach({ ...identity, transport });
  };
  socket.onmessage = (event: MessageEvent) => {
    lastMessageMs = performance.now();
    if (session === undefined || closing) return;
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
    openSockets--;
    onClosed?.();
    session?.transportClosed(event.code, event.reason);
  };
  socket.onerror = (event: Event) => {
    const message = event instanceof ErrorEvent ? event.message : "error";
    log.debug("websocket_error", { session: session?.id, error: message });
  };
  return response;
}

// How long the peer must be quiet before a server-initiated close, and the most we wait.
const CLOSE_QUIET_MS = 50;
const CLOSE_MAX_WAIT_MS = 1000;

/**
 * Closes once the peer has stopped sending for a moment. Deno 2.9 tears the TCP connection
 * down soon after its close frame; frames the peer sent just before are then unread, the kernel
 * answers with RST, and the peer sees 1006 instead of our code and reason. A client that
 * floods is exactly the one that must learn why it was closed, so we let the burst in first
 * (ignoring it) and then close.
 */
function closeAfterQuiet(
  socket: WebSocket,
  lastMessageMs: () => number,
  code: number,
  reason: string,
): void {
  const started = performance.now();
  const attempt = () => {
    if (socket.readyState !== WebSocket.OPEN && socket.readyState !== WebSocket.CONNECTING) return;
    const now = performance.now();
    if (now - lastMessageMs() >= CLOSE_QUIET_MS || now - started >= CLOSE_MAX_WAIT_MS) {
      // This runs in a timer: anything it throws would end the process.
      try {
        socket.close(code, fitCloseReason(reason));
      } catch {
        try {
          socket.close(code);
        } catch {
          // Closed meanwhile.
        }
      }
    } else {
      setTimeout(attempt, CLOSE_QUIET_MS);
    }
  };
  attempt();
}
