/**
 * CPU time and resident memory of processes, read from Linux's `/proc`, so the benchmark can
 * say what a load step cost the server (and NATS, and itself).
 *
 * @module
 */

// Linux reports utime and stime in USER_HZ ticks, which is 100 on every architecture it runs on.
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) `pid` has used so far, or undefined if it is gone. */
export async function readCpuSeconds(pid: number | "self"): Promise<number | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may contain spaces; fields after it are
  // plain. utime and stime are fields 14 and 15, i.e. the 12th and 13th after the ')'.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? ticks / TICKS_PER_SECOND : undefined;
}

/** Resident set size of `pid` in bytes (`VmRSS`), or undefined if it is gone. */
export async function readRssBytes(pid: number | "self"): Promise<number | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(`/proc/${pid}/status`);
  } catch {
    return undefined;
  }
  const match = /^VmRSS:\s+([0-9]+) kB$/m.exec(text);
  return match ? Number(match[1]) * 1024 : undefined;
}

/** Busy and total CPU seconds of the whole machine so far (all cores, from `/proc/stat`). */
export async function readHostCpuSeconds(): Promise<{ busy: number; total: number }> {
  const line = (await Deno.readTextFile("/proc/stat")).split("\n")[0];
  // cpu user nice system idle iowait irq softirq steal guest guest_nice; time stolen by the
  // hypervisor is neither ours nor idle, so it is left out.
  const ticks = line.trim().split(/\s+/).slice(1, 8).map(Number);
  const total = ticks.reduce((a, t) => a + t, 0);
  const idle = ticks[3] + ticks[4];
  return { busy: (total - idle) / TICKS_PER_SECOND, total: total / TICKS_PER_SECOND };
}

/**
 * The pid of the local `nats-server` listening on `port`, if one runs on this machine and can
 * be told apart from others by its command line (`-p <port>`, `--port <port>`, or no port
 * argument for 4222, the default).
 */
export async function findNatsServerPid(port: number): Promise<number | undefined> {
  const found: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^[0-9]+$/.test(entry.name)) continue;
    let args: string[];
    try {
      args = (await Deno.readTextFile(`/proc/${entry.name}/cmdline`)).split("\0");
    } catch {
      continue;
    }
    if (!args[0]?.endsWith("nats-server")) continue;
    const flag = args.findIndex((a) => a === "-p" || a === "--port");
    const listening = flag === -1 ? 4222 : Number(args[flag + 1]);
    if (listening === port) found.push(Number(entry.name));
  }
  return found.length === 1 ? found[0] : undefined;
}

/** CPU use between two samples. */
export interface CpuUse {
  /** Per watched process, percent of one core (undefined if it is gone). */
  processes: (number | undefined)[];
  /** The whole machine, percent of one core (so up to 100 × cores). */
  host: number;
}

/** CPU use of a set of processes and of the machine between two samples. */
export class CpuMeter {
  readonly #pids: (number | "self")[];
  #last: (number | undefined)[] = [];
  #lastHost = { busy: 0, total: 0 };
  #lastAtMs = 0;

  /** Watches `pids` (`"self"` is this process). */
  constructor(pids: (number | "self")[]) {
    this.#pids = pids;
  }

  /** Takes the starting sample. */
  async start(): Promise<void> {
    this.#last = await Promise.all(this.#pids.map(readCpuSeconds));
    this.#lastHost = await readHostCpuSeconds();
    this.#lastAtMs = performance.now();
  }

  /** CPU used since the last sample; starts a new interval. */
  async sample(): Promise<CpuUse> {
    const now = await Promise.all(this.#pids.map(readCpuSeconds));
    const host = await readHostCpuSeconds();
    const atMs = performance.now();
    const seconds = (atMs - this.#lastAtMs) / 1000;
    const processes = now.map((cpu, i) => {
      const before = this.#last[i];
      if (cpu === undefined || before === undefined || seconds <= 0) return undefined;
      return ((cpu - before) / seconds) * 100;
    });
    const hostPercent = seconds <= 0 ? 0 : ((host.busy - this.#lastHost.busy) / seconds) * 100;
    this.#last = now;
    this.#lastHost = host;
    this.#lastAtMs = atMs;
    return { processes, host: hostPercent };
  }
}

/** CPU seconds used so far by every process whose command line starts with one of `prefixes`. */
async function cpuSecondsOf(prefixes: readonly string[]): Promise<number> {
  let total = 0;
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmd = await Deno.readTextFile(`/proc/${entry.name}/cmdline`);
      if (!prefixes.some((prefix) => cmd.startsWith(prefix))) continue;
    } catch {
      continue;
    }
    total += (await readCpuSeconds(Number(entry.name))) ?? 0;
  }
  return total;
}

/** CPU seconds used so far by every Chromium process on the machine (Debian's paths). */
export function chromiumCpuSeconds(): Promise<number> {
  return cpuSecondsOf(["/usr/lib/chromium/chromium", "/usr/bin/chromium"]);
}

/** CPU seconds used so far by every Firefox ESR process on the machine (Debian's paths). */
export function firefoxCpuSeconds(): Promise<number> {
  return cpuSecondsOf(["/usr/lib/firefox-esr/firefox-esr", "/usr/bin/firefox-esr"]);
}
