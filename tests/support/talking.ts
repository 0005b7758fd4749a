/**
 * A client-library participant that keeps talking: a small audio packet every 50 ms while it is
 * connected, numbered so a test can tell packets apart. For tests that move sessions between
 * servers and watch the media come back.
 *
 * @module
 */
import type { Room } from "../../lib/client/mod.ts";
import { MediaType } from "../../lib/protocol/packets.ts";

/** Starts talking; call the returned function to stop. */
export function keepTalking(room: Room, everyMs = 50): () => void {
  let n = 0;
  const timer = setInterval(() => {
    if (!room.connected) return;
    room.publish({
      mediaType: MediaType.AUDIO,
      data: new Uint8Array([n++ & 255]),
      frameType: "key",
      timestamp: Date.now(),
      duration: 20,
    });
  }, everyMs);
  return () => clearInterval(timer);
}
