/**
 * The headless streamer (`cli/stream.ts`) as a child process for tests, and whether Debian's
 * ffmpeg is here to run it.
 *
 * @module
 */

const ROOT = new URL("../../", import.meta.url);

/** Whether `ffmpeg` runs on this machine. */
export const hasFfmpeg: boolean = await new Deno.Command("ffmpeg", {
  args: ["-version"],
  stdout: "null",
  stderr: "null",
}).output().then((o) => o.success, () => false);

/** True when ffmpeg tests must be skipped (never under CI=true, where a missing ffmpeg fails). */
export function ffmpegTestsIgnored(): boolean {
  if (hasFfmpeg || Deno.env.get("CI") === "true") return false;
  console.warn("\n*** ffmpeg not found: tests that encode with it are skipped ***\n");
  return true;
}

/** Frame rate of the tests' test pattern. */
export const TEST_FPS = 15;

/** `stream` arguments: the test pattern at 320x240, {@linkcode TEST_FPS} fps, into `room`. */
export function testPatternArgs(url: string, user: string, room: string): string[] {
  return [
    ...["stream", "--url", url, "--user-id", user, "--meeting-id", room],
    ...["--debug-send-test-pattern", "-r", "320x240", "--fps", String(TEST_FPS)],
  ];
}

/** A running streamer. */
export interface StreamerProcess {
  child: Deno.ChildProcess;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** Resolves when it has exited and its output is read. */
  status: Promise<Deno.CommandStatus>;
  /** SIGTERM, then the exit status. */
  stop(): Promise<number>;
}

/** Starts `deno run -A cli/stream.ts <args>` in the project root. */
export function spawnStreamer(args: string[], env: Record<string, string> = {}): StreamerProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli/stream.ts", ...args],
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const reading = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) text += decoder.decode(chunk);
  })();
  const drain = child.stdout.cancel();
  const status = (async () => {
    const s = await child.status;
    await reading;
    await drain;
    return s;
  })();
  return {
    child,
    stderr: () => text,
    status,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      return (await status).code;
    },
  };
}

/** Runs the streamer to its end; its exit status and stderr. */
export async function runStreamer(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stderr: string }> {
  const s = spawnStreamer(args, env);
  const status = await s.status;
  return { code: status.code, stderr: s.stderr() };
}
