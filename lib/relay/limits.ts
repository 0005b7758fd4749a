/**
 * Every limit the relay enforces, named with its unit, and the defaults. `main.ts` builds a
 * {@linkcode RelayLimits} from configuration; tests shrink them to reach the edges quickly.
 *
 * @module
 */
import { DEFAULT_MAX_PACKET_BYTES } from "../protocol/limits.ts";

/** The relay's limits and timers. */
export interface RelayLimits {
  /** Largest inbound packet; larger closes the connection with 1009. */
  maxPacketBytes: number;
  /** Sustained inbound packets per second per session (token bucket rate). */
  maxPacketsPerSecond: number;
  /** Inbound packets a session may send in one burst (token bucket size). */
  packetBurst: number;
  /** Keyframe requests a session may send per second; more are dropped and counted. */
  keyframeRequestsPerSecond: number;
  /**
   * Chat messages a session may send per second (burst: four times as many). Chat is never
   * dropped on the way out, so a flood would otherwise fill everyone's queue; more closes the
   * connection with 4029.
   */
  chatMessagesPerSecond: number;
  /** End-to-end encryption key packets a session may send per second (burst: four times). */
  e2eePacketsPerSecond: number;
  /** Packets held for one receiver before the drop policy starts. */
  outboundQueuePackets: number;
  /** Bytes held for one receiver before the drop policy starts. */
  outboundQueueBytes: number;
  /** Bytes a transport may hold unsent before the relay keeps packets in its own queue. */
  transportHighWaterBytes: number;
  /** Video that waited longer than this in a receiver's queue is dropped instead of sent late. */
  maxQueueDelayMs: number;
  /**
   * How long a leave waits for a reconnect before it is announced (also for the participants of
   * an instance that died, who may resume on another).
   */
  leaveGraceMs: number;
  /**
   * The least time a session a drain closed (1012) has to resume elsewhere before its leave is
   * announced: it is on its way through a balancer, perhaps to a busy server (docs/
   * ARCHITECTURE.md, "Drain"; a loaded machine took longer than the leave grace).
   */
  moveGraceMs: number;
  /** How often each instance announces its participants of each room on the bus. */
  presenceHeartbeatMs: number;
  /** After this long without an announcement, an instance's participants are taken as gone. */
  presenceTimeoutMs: number;
  /** How often each instance tells the others it is alive (`liveness.ts`). */
  instanceHeartbeatMs: number;
  /**
   * After this long without an instance's heartbeat it is taken as dead: its participants get
   * {@linkcode leaveGraceMs} to resume on another instance before their leave is announced.
   */
  instanceTimeoutMs: number;
  /** WebSocket ping interval (sent when the connection has been quiet that long). */
  pingIntervalMs: number;
  /** A session that sends nothing for this long is closed. */
  idleTimeoutMs: number;
  /** Drops of one sender's packets within {@linkcode congestionWindowMs} that trigger CONGESTION. */
  congestionDropThreshold: number;
  /** The window for counting drops, and the least time between two CONGESTION notices. */
  congestionWindowMs: number;
  /**
   * Above this many participants a meeting is large: only those who publish are announced one
   * by one (the others are counted), receivers hear only the loudest speakers, and heartbeats
   * reach only those who show the sender's tile.
   */
  largeMeetingParticipants: number;
  /** How many loudest speakers the relay tracks, tells clients about, and forwards when large. */
  activeSpeakers: number;
  /** Participants a meeting may have across the cluster (0: no limit); more are refused. */
  maxMeetingParticipants: number;
  /**
   * Kilobits per second a participant may send in all, and in video (camera and screen): beyond
   * them (after a burst of two seconds' worth) packets are dropped and counted
   * (`bandwidth_limited`, `video_bandwidth_limited`). 0: no limit.
   */
  maxKbpsPerParticipant: number;
  maxVideoKbpsPerParticipant: number;
  /** VIEWPORT and LAYER_PREFERENCE packets a session may send per second (burst: twice). */
  controlPacketsPerSecond: number;
  /** Most sessions a VIEWPORT or LAYER_PREFERENCE may list. */
  maxViewportSessions: number;
  /**
   * Whether viewports, layer preferences and the loudest-only audio of large meetings are
   * obeyed (false: everyone gets everything — the kill switch, and the benchmark's baseline).
   */
  selectiveForwarding: boolean;
}

/** The defaults, chosen to match videocall-rs where it has the same limit. */
export const DEFAULT_RELAY_LIMITS: Readonly<RelayLimits> = {
  maxPacketBytes: DEFAULT_MAX_PACKET_BYTES,
  maxPacketsPerSecond: 500,
  maxMeetingParticipants: 0,
  maxKbpsPerParticipant: 25_000,
  maxVideoKbpsPerParticipant: 20_000,
  packetBurst: 1000,
  keyframeRequestsPerSecond: 2,
  chatMessagesPerSecond: 5,
  e2eePacketsPerSecond: 50,
  outboundQueuePackets: 256,
  outboundQueueBytes: 8 * 1024 * 1024,
  // Small, so that a congested receiver's backlog sits in our queue, where the drop policy
  // applies, rather than in the socket's buffer, where it only adds delay.
  transportHighWaterBytes: 64 * 1024,
  maxQueueDelayMs: 500,
  leaveGraceMs: 2000,
  moveGraceMs: 10_000,
  presenceHeartbeatMs: 5000,
  presenceTimeoutMs: 15000,
  instanceHeartbeatMs: 1000,
  instanceTimeoutMs: 2500,
  pingIntervalMs: 5000,
  idleTimeoutMs: 30000,
  congestionDropThreshold: 5,
  congestionWindowMs: 1000,
  largeMeetingParticipants: 50,
  activeSpeakers: 3,
  controlPacketsPerSecond: 5,
  maxViewportSessions: 256,
  selectiveForwarding: true,
};
