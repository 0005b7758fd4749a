/**
 * A microphone track as a stream of `AudioData`: through `MediaStreamTrackProcessor` where the
 * browser has it (Chromium), else through an AudioWorklet that hands the captured samples to the
 * page in 20 ms blocks, wrapped as `AudioData` (Firefox, which has WebCodecs but no track
 * processor). Either way the sender encodes what it reads the same way.
 *
 * Browser only.
 *
 * @module
 */

import { OPUS } from "./codecs.ts";

interface AudioProcessorCtor {
  new (init: { track: MediaStreamTrack }): { readable: ReadableStream<AudioData> };
}

/** Length of the blocks the worklet posts, in ms (one Opus frame). */
const BLOCK_MS = 20;

// Runs on the audio thread: collects the first input channel into 20 ms blocks and posts each,
// transferring its buffer. Kept as a string, loaded from a Blob URL (the page's CSP allows blob:
// scripts and workers for this and for the playout).
const CAPTURE_PROCESSOR = `
class VcCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.size = Math.round(sampleRate * ${BLOCK_MS} / 1000);
    this.block = new Float32Array(this.size);
    this.filled = 0;
    this.stopped = false;
    this.port.onmessage = () => { this.stopped = true; };
  }
  process(inputs) {
    if (this.stopped) return false;
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    let i = 0;
    while (i < channel.length) {
      const n = Math.min(channel.length - i, this.size - this.filled);
      this.block.set(channel.subarray(i, i + n), this.filled);
      this.filled += n;
      i += n;
      if (this.filled === this.size) {
        this.port.postMessage(this.block, [this.block.buffer]);
        this.block = new Float32Array(this.size);
        this.filled = 0;
      }
    }
    return true;
  }
}
registerProcessor("vc-capture", VcCapture);
`;

/** Whether this browser can capture audio frames at all (and encode them). */
export function canCaptureAudio(): boolean {
  return typeof AudioEncoder !== "undefined" && typeof AudioData !== "undefined" &&
    (trackProcessor() !== undefined || typeof AudioWorkletNode !== "undefined");
}

function trackProcessor(): AudioProcessorCtor | undefined {
  return (globalThis as { MediaStreamTrackProcessor?: AudioProcessorCtor })
    .MediaStreamTrackProcessor;
}

/** `track`'s audio as `AudioData` frames; cancel the stream to stop. */
export function audioFrames(track: MediaStreamTrack): ReadableStream<AudioData> {
  const Processor = trackProcessor();
  return Processor !== undefined ? new Processor({ track }).readable : workletFrames(track);
}

function workletFrames(track: MediaStreamTrack): ReadableStream<AudioData> {
  let context: AudioContext | undefined;
  let node: AudioWorkletNode | undefined;
  let url = "";
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    track.removeEventListener("ended", onEnded);
    node?.port.postMessage("stop");
    node?.disconnect();
    context?.close().catch(() => {});
    if (url !== "") URL.revokeObjectURL(url);
    context = undefined;
  };
  let onEnded = () => {};
  // 48 kHz first, Opus's own rate. Firefox refuses to connect a microphone to a context of
  // another rate than the device's (NotSupportedError); then the device's own rate, which Opus
  // also takes.
  const open = async (sampleRate: number | undefined) => {
    const ctx = new AudioContext(sampleRate ? { sampleRate } : undefined);
    context = ctx;
    try {
      await ctx.audioWorklet.addModule(url);
      return { ctx, source: ctx.createMediaStreamSource(new MediaStream([track])) };
    } catch (error) {
      await ctx.close().catch(() => {});
      context = undefined;
      throw error;
    }
  };
  return new ReadableStream<AudioData>({
    async start(controller) {
      try {
        url = URL.createObjectURL(new Blob([CAPTURE_PROCESSOR], { type: "text/javascript" }));
        let opened;
        try {
          opened = await open(OPUS.sampleRate);
        } catch {
          opened = await open(undefined);
        }
        const { ctx, source } = opened;
        if (closed) {
          await ctx.close().catch(() => {});
          return;
        }
        node = new AudioWorkletNode(ctx, "vc-capture", {
          numberOfInputs: 1,
          numberOfOutputs: 1,
          channelCount: 1,
          channelCountMode: "explicit",
        });
        // A node must lead to the destination to be run; it writes nothing, so this is silence.
        source.connect(node).connect(ctx.destination);
        node.port.onmessage = (event: MessageEvent<Float32Array<ArrayBuffer>>) => {
          if (closed) return;
          const samples = event.data;
          controller.enqueue(
            new AudioData({
              format: "f32-planar",
              sampleRate: ctx.sampleRate,
              numberOfFrames: samples.length,
              numberOfChannels: 1,
              timestamp: Math.round(performance.now() * 1000),
              data: samples,
            }),
          );
        };
        // The microphone went away (unplugged, permission revoked): the stream ends.
        onEnded = () => {
          close();
          controller.close();
        };
        track.addEventListener("ended", onEnded);
        // A context made without a user gesture starts suspended; the join click resumes it.
        ctx.resume().catch(() => {});
        addEventListener("pointerdown", () => ctx.resume().catch(() => {}), { once: true });
      } catch (error) {
        close();
        controller.error(error);
      }
    },
    cancel: close,
  }, { highWaterMark: 8 });
}
