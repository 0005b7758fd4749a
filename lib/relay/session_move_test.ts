/**
 * Sessions moving between relay instances, in one process (three relays on one in-process bus
 * hub): a resume on another instance keeps the session id and nobody sees a leave or a join;
 * the instance left behind, alive or dead, never announces a leave for it; the participants of
 * a dead instance who do not come back are announced as gone after the leave grace. The same
 * story through real processes, NATS, a load balancer and a browser is
 * tests/instance_failure_test.ts.
 */
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { PacketClient } from "../../tests/support/packet_client.ts";
import { createLogger } from "../log.ts";
import { MeetingEventType } from "../protocol/packets.ts";
import { Refusal } from "../protocol/close_codes.ts";
import { DEFAULT_RELAY_LIMITS, type RelayLimits } from "./limits.ts";
import { MemoryBusHub } from "./memory_bus.ts";
import type { MemoryBus } from "./memory_bus.ts";
import { createRelayMetrics } from "./metrics.ts";
import { Relay } from "./relay.ts";
import type { Session, Transport } from "./session.ts";

const LIMITS: RelayLimits = {
  ...DEFAULT_RELAY_LIMITS,
  instanceHeartbeatMs: 40,
  instanceTimeoutMs: 150,
  leaveGraceMs: 400,
  moveGraceMs: 1500,
  presenceHeartbeatMs: 200,
  presenceTimeoutMs: 5000,
};

/** A wire client whose "connection" is a direct line to a relay session. */
class LineClient extends PacketClient {
  session: Session | undefined;
  closedWith: { code: number; reason: string } | undefined;
  readonly transport: Transport = {
    kind: "websocket",
    bufferedBytes: () => 0,
    send: (packet) => this.handlePacket(packet.slice(), "message"),
    close: (code, reason) => {
      this.closedWith = { code, reason };
    },
  };

  sendRaw(bytes: Uint8Array | string): void {
    if (typeof bytes !== "string") this.session?.receive(bytes);
  }

  close(): Promise<{ code: number; reason: string }> {
    this.session?.transportClosed(1000, "bye");
    return Promise.resolve({ code: 1000, reason: "bye" });
  }

  /** The connection drops (no close handshake). */
  drop(): void {
    this.session?.transportClosed(1006, "gone");
  }

  /** Meeting events of `type` about `sessionId` received so far. */
  events(type: number, sessionId: bigint): number {
    return this.meetingEvents().filter((m) => m.eventType === type && m.sessionId === sessionId)
      .length;
  }
}

interface Node {
  relay: Relay;
  bus: MemoryBus;
}

class Cluster {
  readonly hub = new MemoryBusHub();
  readonly nodes: Node[] = [];

  start(id: string): Node {
    const bus = this.hub.connect();
    const relay = new Relay({
      bus,
      limits: LIMITS,
      metrics: createRelayMetrics(),
      log: createLogger("silent"),
      instanceId: id,
    });
    const node = { relay, bus };
    this.nodes.push(node);
    return node;
  }

  /** Connects `user` to `room` on `node` (resuming `resume` if given) and announces it. */
  connect(node: Node, user: string, room: string, resume?: bigint): LineClient {
    const client = new LineClient(user);
    client.session = node.relay.attach({
      userId: user,
      roomId: room,
      transport: client.transport,
      resumeSessionId: resume,
    });
    client.sessionId = client.session.id;
    client.heartbeat();
    return client;
  }

  /** A crash: the instance stops hearing and saying anything, and says no goodbye. */
  async kill(node: Node): Promise<void> {
    await node.bus.close();
    node.relay.shutdown();
  }

  async stop(): Promise<void> {
    for (const node of this.nodes) {
      node.relay.shutdown();
      await node.bus.close();
    }
  }
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    assert(Date.now() < deadline, `timed out waiting for ${what}`);
    await delay(10);
  }
}

const { PARTICIPANT_JOINED: JOINED, PARTICIPANT_LEFT: LEFT } = MeetingEventType;

Deno.test("a dropped session resumes on another instance: same id, no leave or join for anyone, and the old instance stays quiet", async () => {
  const cluster = new Cluster();
  const [a, b, c] = ["a", "b", "c"].map((id) => cluster.start(id));
  try {
    const ada = cluster.connect(a, "ada", "r");
    const bob = cluster.connect(b, "bob", "r");
    const cid = cluster.connect(c, "cid", "r");
    await until(() => bob.events(JOINED, ada.sessionId) === 1, "bob to see ada");
    await until(() => cid.events(JOINED, ada.sessionId) === 1, "cid to see ada");
    const id = ada.sessionId;

    ada.drop();
    const back = cluster.connect(b, "ada", "r", id);
    assertEquals(back.sessionId, id, "resumed with the same session id");
    assertEquals(b.relay.metrics.sessionsMoved.get(), 1);
    // The old instance holds nothing of the room any more: its pending leave ended quietly.
    await until(() => a.relay.room("r") === undefined, "a to let the session go");
    await until(() => c.relay.room("r")?.roster.get(id)?.instance === "b", "c to learn the move");
    // Past the old instance's leave grace and a few presence heartbeats.
    await delay(LIMITS.leaveGraceMs + 3 * LIMITS.presenceHeartbeatMs);
    for (const other of [bob, cid]) {
      assertEquals(other.events(LEFT, id), 0, `${other.userId} saw no leave`);
      assertEquals(other.events(JOINED, id), 1, `${other.userId} saw no second join`);
    }
    // The resumed session is heard by everyone, under its id.
    back.heartbeat();
    await until(() => cid.received.filter((r) => r.wrapper.sessionId === id).length >= 2, "media");
  } finally {
    await cluster.stop();
  }
});

Deno.test("a client that moves while its old connection lingers: the old one is closed, and no leave follows", async () => {
  const cluster = new Cluster();
  const [a, b] = ["a", "b"].map((id) => cluster.start(id));
  try {
    const ada = cluster.connect(a, "ada", "r");
    const bob = cluster.connect(b, "bob", "r");
    await until(() => bob.events(JOINED, ada.sessionId) === 1, "bob to see ada");
    const moved = cluster.connect(b, "ada", "r", ada.sessionId);
    assertEquals(moved.sessionId, ada.sessionId);
    await until(() => ada.closedWith !== undefined, "the lingering connection to close");
    assertEquals([ada.closedWith?.code, ada.closedWith?.reason], [4409, Refusal.MOVED]);
    // Someone else cannot take it: the user id must match.
    const eve = cluster.connect(a, "eve", "r", ada.sessionId);
    assert(eve.sessionId !== ada.sessionId);
    await delay(LIMITS.leaveGraceMs + 3 * LIMITS.presenceHeartbeatMs);
    assertEquals(bob.events(LEFT, ada.sessionId), 0);
    assertEquals(eve.events(LEFT, ada.sessionId), 0);
    assertEquals(a.relay.room("r")?.roster.get(ada.sessionId)?.instance, "b");
  } finally {
    await cluster.stop();
  }
});

Deno.test("an instance dies: who resumes elsewhere stays, who does not is announced as gone after the grace", async () => {
  const cluster = new Cluster();
  const [a, b, c] = ["a", "b", "c"].map((id) => cluster.start(id));
  try {
    const ada = cluster.connect(a, "ada", "r");
    const al = cluster.connect(a, "al", "r");
    const bob = cluster.connect(b, "bob", "r");
    const cid = cluster.connect(c, "cid", "r");
    for (const x of [bob, cid]) {
      const seen = () => x.events(JOINED, ada.sessionId) + x.events(JOINED, al.sessionId);
      await until(() => seen() === 2, `${x.userId} to see ada and al`);
    }
    await until(() => b.relay.metrics.registry.render().includes("cluster_instances 3"), "3 alive");
    await cluster.kill(a);
    ada.drop();
    al.drop();
    // Ada comes back through the balancer, to c; Al does not come back.
    const back = cluster.connect(c, "ada", "r", ada.sessionId);
    assertEquals(back.sessionId, ada.sessionId);
    await until(() => bob.events(LEFT, al.sessionId) === 1, "bob to hear that al left");
    await until(() => cid.events(LEFT, al.sessionId) === 1, "cid to hear that al left");
    assertEquals(b.relay.metrics.instancesLost.get("silent"), 1);
    await delay(LIMITS.leaveGraceMs);
    assertEquals(bob.events(LEFT, ada.sessionId), 0);
    assertEquals(cid.events(LEFT, ada.sessionId), 0);
    assertEquals(back.events(LEFT, al.sessionId), 1, "the one who came back hears it too");
  } finally {
    await cluster.stop();
  }
});

Deno.test("prepareResume() finds a session in the cluster for an instance that has not opened the room", async () => {
  const cluster = new Cluster();
  const [a, b] = ["a", "b"].map((id) => cluster.start(id));
  try {
    const ada = cluster.connect(a, "ada", "r");
    await until(() => b.relay.metrics.registry.render().includes("cluster_instances 2"), "2 alive");
    ada.drop();
    assertEquals(b.relay.room("r"), undefined);
    // Without the lookup the room opens with an empty roster: a fresh session.
    await b.relay.prepareResume({ roomId: "r", userId: "ada", resumeSessionId: ada.sessionId });
    const back = cluster.connect(b, "ada", "r", ada.sessionId);
    assertEquals(back.sessionId, ada.sessionId);
    await until(() => a.relay.room("r") === undefined, "a to close the room it no longer holds");
  } finally {
    await cluster.stop();
  }
});

Deno.test("sessions a drain sends away (1012) have the longer move grace: back within it, nobody sees a leave; not back, their leave comes after it", async () => {
  const cluster = new Cluster();
  const [a, b] = ["a", "b"].map((id) => cluster.start(id));
  try {
    const ada = cluster.connect(a, "ada", "r");
    const al = cluster.connect(a, "al", "r");
    const bob = cluster.connect(b, "bob", "r");
    for (const x of [ada, al]) {
      await until(() => bob.events(JOINED, x.sessionId) === 1, `bob to see ${x.userId}`);
    }
    await until(() => a.relay.metrics.registry.render().includes("cluster_instances 2"), "2 alive");
    const drained = a.relay.drain(10_000);
    await until(() => ada.closedWith !== undefined && al.closedWith !== undefined, "the 1012s");
    assertEquals(ada.closedWith?.code, 1012);
    ada.session?.transportClosed(1012, ada.closedWith!.reason);
    al.session?.transportClosed(1012, al.closedWith!.reason);
    // Longer than the leave grace, shorter than the move grace: Ada comes back on B.
    await delay(LIMITS.leaveGraceMs + 300);
    assertEquals(bob.events(LEFT, ada.sessionId), 0, "no leave within the move grace");
    assertEquals(bob.events(LEFT, al.sessionId), 0, "no leave within the move grace");
    const back = cluster.connect(b, "ada", "r", ada.sessionId);
    assertEquals(back.sessionId, ada.sessionId);
    // Al never comes back: his leave follows the move grace, and the drain then settles.
    await until(
      () => bob.events(LEFT, al.sessionId) === 1,
      "al's leave",
      LIMITS.moveGraceMs + 2000,
    );
    await drained;
    assertEquals(bob.events(LEFT, ada.sessionId), 0, "ada was never announced as gone");
  } finally {
    await cluster.stop();
  }
});
