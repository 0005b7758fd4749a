/**
 * How to join a room (`room.ts`), and what joining told it.
 *
 * @module
 */
import type { Role } from "./api.ts";
import type { TransportChoice } from "./transport.ts";

/** How to join a room. */
export interface RoomOptions {
  /** The server's HTTP origin, e.g. `http://localhost:8080` (`ws://` and `wss://` work too). */
  url: string;
  userId: string;
  meetingId: string;
  /** Shown to the others; default the user id. */
  displayName?: string;
  /** An operator-issued token; without one, open servers give a guest session. */
  token?: string;
  /** The meeting's password, if it has one. */
  password?: string;
  /** `auto` (default): WebTransport, then WebSocket. */
  transport?: TransportChoice;
  /** Encrypt our media and chat end to end (always on in meetings that require it). */
  e2ee?: boolean;
  /** Create the meeting as one that requires E2EE, if it does not exist yet. */
  createE2eeRequired?: boolean;
  /** Heartbeat period in milliseconds (default 1000). */
  heartbeatMs?: number;
  /** Give up reconnecting after this many failed attempts in a row (default 12). */
  maxReconnectAttempts?: number;
  /**
   * Trust the WebTransport certificate hashes the server advertises (default true: what a
   * browser does with a self-signed development server); false verifies certificates normally.
   */
  trustAdvertisedCertificate?: boolean;
  /**
   * Over WebTransport, use grouped framing (video on a stream per group of pictures, audio and
   * heartbeats as datagrams) when the server offers it (default true); false sends and receives
   * one packet per stream, as videocall-rs clients do.
   */
  groupedFraming?: boolean;
  /**
   * Choose the server from the pool `GET /api/v1/servers` lists (lib/client/pool.ts: of the three
   * least loaded, the least loaded of those about as near as the nearest), before joining and
   * again before each reconnect; default false. Servers that list no public URLs leave the room
   * where `url` says. (Pages choose once, by moving to the chosen instance's address.)
   */
  pickServer?: boolean;
  /** Makes the WebSocket (Deno callers pass one that sets TCP_NODELAY, e.g. npm `ws`). */
  webSocket?: (url: string) => WebSocket;
}

/** What joining told us about our place in the meeting. */
export interface JoinInfo {
  status: "admitted" | "waiting";
  role: Role;
  hostUserId: string;
  locked: boolean;
  waitingRoomEnabled: boolean;
  e2eeRequired: boolean;
}
