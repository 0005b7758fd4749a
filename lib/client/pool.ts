/**
 * Choosing a server from the pool (docs/ARCHITECTURE.md, "The server pool"): of the instances
 * `GET /api/v1/servers` lists as accepting, the three least loaded are timed (`/healthz`), and
 * the least loaded of those about as near as the nearest wins. Only the listing instance itself
 * is no choice (a lone server listing its `PUBLIC_URL` does not send clients there), and an https
 * client never moves to plain http. Distance rules out far instances,
 * load decides among near ones. The client library's `Room` (`pickServer`) and the meeting page
 * both choose this way.
 *
 * @example
 * ```ts
 * import { chooseServer } from "./pool.ts";
 *
 * const rtt: Record<string, number> = { "https://a.example": 80, "https://b.example": 9 };
 * const chosen = await chooseServer(
 *   [{ url: "https://a.example", load: 0.1 }, { url: "https://b.example", load: 0.5 }],
 *   { time: (origin) => Promise.resolve(rtt[origin]) },
 * );
 * if (chosen !== "https://b.example") throw new Error("a is far: b wins though busier");
 * ```
 *
 * @module
 */

/** An instance of the pool as the client reads it: its public URL and sessions per capacity. */
export interface PoolCandidate {
  url: string;
  load: number;
  /** The instance that answered the listing (absent: not known). */
  self?: boolean;
}

/** How to choose. */
export interface ChooseOptions {
  /**
   * The origin the client uses now. Instances on plain http are never chosen from an https
   * origin: moving would send the client and its token in the clear.
   */
  current?: string;
  /** Times an origin (ms, `Infinity` when it does not answer). Default {@linkcode timeHealthz}. */
  time?: (origin: string) => Promise<number>;
}

/** Instances of the pool a client times (the least loaded). */
export const PICK_CANDIDATES = 3;
/** How long a pool instance may take to answer /healthz when a client picks, in ms. */
export const PICK_TIMEOUT_MS = 2000;
/**
 * RTT a pool instance may have above twice the nearest one's and still count as near, in ms:
 * enough for a busy server's slower answer within one region, well under the 70 ms and more
 * between regions that the rule is there to tell apart.
 */
export const PICK_RTT_SLACK_MS = 50;
/** Requests timed per instance (the fastest counts). */
const PICK_SAMPLES = 3;

/** The HTTP origin of a server URL given as `http(s)://` or `ws(s)://`, path dropped. */
export function httpOrigin(url: string): string {
  const parsed = new URL(url);
  const secure = parsed.protocol === "https:" || parsed.protocol === "wss:";
  return `${secure ? "https" : "http"}://${parsed.host}`;
}

/**
 * The origin to use of `candidates` (accepting instances, least loaded first, as the server lists
 * them); undefined when there is no choice — nothing listed, or only the instance that answered
 * (a lone server listing its own `PUBLIC_URL` does not send clients there) — or none answers.
 * A single other instance is a choice: the one that answered is not accepting (draining).
 */
export async function chooseServer(
  candidates: readonly PoolCandidate[],
  options: ChooseOptions = {},
): Promise<string | undefined> {
  const time = options.time ?? timeHealthz;
  const secureNow = options.current?.startsWith("https:") ?? false;
  const origins: { origin: string; self: boolean }[] = [];
  for (const { url, self } of candidates) {
    let origin: string;
    try {
      origin = httpOrigin(url);
    } catch {
      continue; // not a URL: an instance with a bad PUBLIC_URL is skipped, not fatal
    }
    if (secureNow && !origin.startsWith("https:")) continue;
    if (!origins.some((o) => o.origin === origin)) origins.push({ origin, self: self === true });
    if (origins.length === PICK_CANDIDATES) break;
  }
  if (origins.length === 0 || (origins.length === 1 && origins[0].self)) return undefined;
  const timed = await Promise.all(origins.map(async ({ origin }) => ({
    origin,
    rttMs: await time(origin).catch(() => Infinity),
  })));
  const nearest = Math.min(...timed.map((t) => t.rttMs));
  if (!Number.isFinite(nearest)) return undefined;
  return timed.find((t) => t.rttMs <= nearest * 2 + PICK_RTT_SLACK_MS)!.origin;
}

/**
 * Round-trip time to `origin`'s `/healthz`, in ms (`Infinity` when it does not answer within
 * {@linkcode PICK_TIMEOUT_MS}): the fastest of three requests one after the other, so that
 * neither a new connection's handshake nor a server's first, cold request makes a near server
 * look far.
 * In a page the requests are `no-cors` (another instance's answer is opaque there; arriving at
 * all is what counts); elsewhere each must be a 200.
 */
export async function timeHealthz(origin: string): Promise<number> {
  let best = await timeOnce(origin);
  for (let i = 1; i < PICK_SAMPLES && best !== Infinity; i++) {
    best = Math.min(best, await timeOnce(origin));
  }
  return best;
}

async function timeOnce(origin: string): Promise<number> {
  const inPage = typeof document !== "undefined";
  const started = performance.now();
  try {
    const response = await fetch(`${origin}/healthz`, {
      cache: "no-store",
      mode: inPage ? "no-cors" : "cors",
      signal: AbortSignal.timeout(PICK_TIMEOUT_MS),
    });
    await response.body?.cancel();
    return inPage || response.ok ? performance.now() - started : Infinity;
  } catch {
    return Infinity;
  }
}
