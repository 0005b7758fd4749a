/**
 * What browser tests and `bench:call` learn from inside a meeting page without any hook in the
 * product: an init script, installed before the page's own code runs, that wraps the browser's
 * WebCodecs classes and counts what passes through them — frames decoded per decoder (with
 * capture-to-decode latency from the sender's wall-clock timestamp, which our senders put on
 * every frame), audio frames decoded, decode errors, and frames encoded (with the first bytes of
 * a few of them: the plaintext an encrypted call must never show the relay).
 *
 * @module
 */
import type { Page } from "playwright-core";

/** Figures of one video decoder. */
export interface DecoderProbe {
  codec: string;
  /** Chunks handed to it, and key chunks among them. */
  inputs: number;
  keyInputs: number;
  /** Frames it output (drawn by the page as they come). */
  frames: number;
  errors: number;
  /** `performance.now()` when the page made it (the page warms a decoder when someone joins). */
  createdAt: number;
  /** `performance.now()` of its first key chunk and its first frame (0: none yet). */
  firstKeyAt: number;
  firstFrameAt: number;
}

/** Everything the probe counted in one page. */
export interface ProbeStats {
  /** `performance.now()` of the last click anywhere in the page (0: none yet). */
  lastClickAt: number;
  /** Connections the page opened: their kind and `performance.now()` when it opened them. */
  connections: { kind: "websocket" | "webtransport"; at: number }[];
  decoders: DecoderProbe[];
  audio: { frames: number; errors: number };
  encoder: { chunks: number; keys: number };
}

/**
 * The init script (runs in the page; pass it to `BrowserContext.addInitScript`). It must be
 * self-contained: Playwright sends its source text.
 */
export function pageProbe(): void {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  if (g.__probe) return;
  const probe = {
    lastClickAt: 0,
    connections: [] as { kind: string; at: number }[],
    decoders: [] as Record<string, unknown>[],
    audio: { frames: 0, errors: 0 },
    encoder: { chunks: 0, keys: 0 },
    latencies: [] as number[],
    samples: [] as number[][],
    /** Every text a notice (toast) showed, in order, including updates of one notice. */
    notices: [] as string[],
  };
  g.__probe = probe;
  // Notices last seconds: record them as they appear or change, so a test can ask afterwards.
  new MutationObserver((records) => {
    for (const record of records) {
      const node = record.target instanceof Element ? record.target : record.target.parentElement;
      const toasts = [
        ...(node?.closest(".toast") ? [node.closest(".toast")!] : []),
        ...[...record.addedNodes].flatMap((n) =>
          n instanceof Element
            ? [...(n.matches(".toast") ? [n] : []), ...n.querySelectorAll(".toast")]
            : []
        ),
      ];
      for (const toast of toasts) {
        const text = toast.textContent ?? "";
        if (probe.notices.at(-1) !== text) probe.notices.push(text);
      }
    }
  }).observe(document, { subtree: true, childList: true, characterData: true });
  addEventListener("click", () => probe.lastClickAt = performance.now(), { capture: true });
  for (const [name, kind] of [["WebSocket", "websocket"], ["WebTransport", "webtransport"]]) {
    const Original = g[name];
    if (!Original) continue;
    const Wrapped = class extends Original {
      // deno-lint-ignore no-explicit-any
      constructor(...args: any[]) {
        probe.connections.push({ kind, at: performance.now() });
        super(...args);
      }
    };
    g[name] = Wrapped;
  }
  const Decoder = g.VideoDecoder;
  if (Decoder) {
    g.VideoDecoder = class extends Decoder {
      // deno-lint-ignore no-explicit-any
      constructor(init: any) {
        const stats = {
          codec: "",
          inputs: 0,
          keyInputs: 0,
          frames: 0,
          errors: 0,
          createdAt: performance.now(),
          firstKeyAt: 0,
          firstFrameAt: 0,
        };
        super({
          // deno-lint-ignore no-explicit-any
          output(frame: any) {
            stats.frames++;
            const now = performance.now();
            if (stats.firstFrameAt === 0) stats.firstFrameAt = now;
            if (probe.latencies.length < 20_000) {
              probe.latencies.push(performance.timeOrigin + now - frame.timestamp / 1000);
            }
            init.output(frame);
          },
          // deno-lint-ignore no-explicit-any
          error(e: any) {
            stats.errors++;
            init.error(e);
          },
        });
        probe.decoders.push(stats);
        this.stats = stats;
      }
      // deno-lint-ignore no-explicit-any
      configure(config: any) {
        this.stats.codec = config.codec;
        return super.configure(config);
      }
      // deno-lint-ignore no-explicit-any
      decode(chunk: any) {
        this.stats.inputs++;
        if (chunk.type === "key") {
          this.stats.keyInputs++;
          if (this.stats.firstKeyAt === 0) this.stats.firstKeyAt = performance.now();
        }
        return super.decode(chunk);
      }
    };
  }
  const AudioDec = g.AudioDecoder;
  if (AudioDec) {
    g.AudioDecoder = class extends AudioDec {
      // deno-lint-ignore no-explicit-any
      constructor(init: any) {
        super({
          // deno-lint-ignore no-explicit-any
          output(data: any) {
            probe.audio.frames++;
            init.output(data);
          },
          // deno-lint-ignore no-explicit-any
          error(e: any) {
            probe.audio.errors++;
            init.error(e);
          },
        });
      }
    };
  }
  const Encoder = g.VideoEncoder;
  if (Encoder) {
    g.VideoEncoder = class extends Encoder {
      // deno-lint-ignore no-explicit-any
      constructor(init: any) {
        super({
          // deno-lint-ignore no-explicit-any
          output(chunk: any, metadata: any) {
            probe.encoder.chunks++;
            if (chunk.type === "key") probe.encoder.keys++;
            if (chunk.byteLength >= 48) {
              const bytes = new Uint8Array(chunk.byteLength);
              chunk.copyTo(bytes);
              probe.samples.push([...bytes.subarray(0, 48)]);
              if (probe.samples.length > 32) probe.samples.shift();
            }
            init.output(chunk, metadata);
          },
          error: init.error,
        });
      }
    };
  }
}

/**
 * A page of either driver — playwright-core's (Chromium) or puppeteer-core's (Firefox) — as far
 * as reading the probe needs.
 */
export interface ProbedPage {
  evaluate(fn: () => unknown): Promise<unknown>;
}

/** The probe's counters in `page`. */
export async function probeStats(page: ProbedPage): Promise<ProbeStats> {
  return await page.evaluate(() => {
    // deno-lint-ignore no-explicit-any
    const p = (globalThis as any).__probe;
    return {
      lastClickAt: p.lastClickAt,
      connections: p.connections,
      decoders: p.decoders,
      audio: p.audio,
      encoder: p.encoder,
    };
  }) as ProbeStats;
}

/** Every notice the page showed so far. */
export async function noticesShown(page: ProbedPage): Promise<string[]> {
  // deno-lint-ignore no-explicit-any
  return await page.evaluate(() => (globalThis as any).__probe.notices) as string[];
}

/** Frames decoded by every video decoder of the page together. */
export async function framesDecoded(page: ProbedPage): Promise<number> {
  return (await probeStats(page)).decoders.reduce((sum, d) => sum + d.frames, 0);
}

/** The capture-to-decode latencies (ms) recorded since the last call, then forgotten. */
export async function takeLatencies(page: ProbedPage): Promise<number[]> {
  return await page.evaluate(() => {
    // deno-lint-ignore no-explicit-any
    const p = (globalThis as any).__probe;
    return p.latencies.splice(0);
  }) as number[];
}

/** The first 48 bytes of the last encoded frames (at most 32): what was sent, before sealing. */
export async function encodedSamples(page: Page): Promise<number[][]> {
  // deno-lint-ignore no-explicit-any
  return await page.evaluate(() => (globalThis as any).__probe.samples);
}
