/**
 * Plays everyone's decoded audio through one shared `AudioContext`: an AudioWorklet node per
 * sender holds a small buffer (starts at 40 ms, trims anything beyond 200 ms so delay never
 * piles up, plays silence when it runs dry) and the context mixes them.
 *
 * Browser only.
 *
 * @module
 */

// Runs on the audio thread. Kept as a string: the worklet is loaded from a Blob URL, so the
// page needs no extra file and works from any path.
const PROCESSOR = `
class VcPlayout extends AudioWorkletProcessor {
  constructor() {
    super();
    this.queue = [];
    this.offset = 0;
    this.buffered = 0;
    this.playing = false;
    this.port.onmessage = (event) => {
      const chunk = event.data;
      this.queue.push(chunk);
      this.buffered += chunk.length;
      while (this.buffered > sampleRate * 0.2 && this.queue.length > 1) {
        const dropped = this.queue.shift();
        this.buffered -= dropped.length - this.offset;
        this.offset = 0;
      }
    };
  }
  process(_inputs, outputs) {
    const out = outputs[0][0];
    if (!this.playing && this.buffered < sampleRate * 0.04) {
      out.fill(0);
      return true;
    }
    this.playing = true;
    let i = 0;
    while (i < out.length && this.queue.length > 0) {
      const head = this.queue[0];
      const n = Math.min(out.length - i, head.length - this.offset);
      out.set(head.subarray(this.offset, this.offset + n), i);
      i += n;
      this.offset += n;
      this.buffered -= n;
      if (this.offset >= head.length) {
        this.queue.shift();
        this.offset = 0;
      }
    }
    if (i < out.length) {
      out.fill(0, i);
      this.playing = false;
    }
    for (let c = 1; c < outputs[0].length; c++) outputs[0][c].set(out);
    return true;
  }
}
registerProcessor("vc-playout", VcPlayout);
`;

/** The page's audio output. */
export class AudioPlayout {
  readonly context: AudioContext;
  readonly #ready: Promise<void>;
  readonly #nodes = new Map<string, AudioWorkletNode>();
  #loaded = false;

  constructor() {
    this.context = new AudioContext({ sampleRate: 48_000, latencyHint: "interactive" });
    const url = URL.createObjectURL(new Blob([PROCESSOR], { type: "text/javascript" }));
    this.#ready = this.context.audioWorklet.addModule(url).then(() => {
      this.#loaded = true;
      URL.revokeObjectURL(url);
    });
  }

  /** Resumes the context (browsers start it suspended until a user gesture). */
  async resume(): Promise<void> {
    await this.#ready;
    if (this.context.state !== "running") await this.context.resume();
  }

  /** Plays `samples` (mono, 48 kHz) from `sender`. */
  push(sender: string, samples: Float32Array): void {
    if (!this.#loaded) return;
    let node = this.#nodes.get(sender);
    if (node === undefined) {
      node = new AudioWorkletNode(this.context, "vc-playout", { outputChannelCount: [2] });
      node.connect(this.context.destination);
      this.#nodes.set(sender, node);
    }
    node.port.postMessage(samples, [samples.buffer]);
  }

  /** Forgets a sender who left. */
  remove(sender: string): void {
    const node = this.#nodes.get(sender);
    if (node === undefined) return;
    node.disconnect();
    node.port.close();
    this.#nodes.delete(sender);
  }

  /** Sends the output to a speaker (where the browser can choose one). */
  async setSpeaker(deviceId: string): Promise<boolean> {
    const ctx = this.context as AudioContext & { setSinkId?: (id: string) => Promise<void> };
    if (typeof ctx.setSinkId !== "function") return false;
    await ctx.setSinkId(deviceId === "default" ? "" : deviceId);
    return true;
  }

  async close(): Promise<void> {
    for (const id of [...this.#nodes.keys()]) this.remove(id);
    await this.context.close().catch(() => {});
  }
}
