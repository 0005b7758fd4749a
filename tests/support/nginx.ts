/**
 * Debian's nginx running a config of ours for a test: the config's upstream servers and listen
 * ports are replaced by the test's (`server-a:8080` → `127.0.0.1:<port>`), the stream module is
 * loaded when Debian ships it as a module, and logs and the pid file go to a temporary directory.
 * Missing nginx skips the tests that need it, loudly — and fails them under `CI=true`.
 *
 * @module
 */

/** Where Debian installs nginx. */
export const NGINX_PATH = "/usr/sbin/nginx";
const STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so";

/** True when the tests that need nginx cannot run (and it is not CI, which requires it). */
export function nginxIgnored(): boolean {
  try {
    Deno.statSync(NGINX_PATH);
    return false;
  } catch {
    if (Deno.env.get("CI") === "true") {
      throw new Error(`nginx is missing at ${NGINX_PATH}, and CI requires it`);
    }
    console.warn(`\n*** nginx not found at ${NGINX_PATH}: balancer tests are skipped ***\n`);
    return true;
  }
}

/** A running nginx. */
export interface Nginx {
  /** The config it runs, after the replacements. */
  config: string;
  /** Its error log so far. */
  errors(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts nginx on `config` with each `replacements` key (a literal string of the config)
 * replaced by its value everywhere; fails if a key does not occur, or nginx does not start.
 */
export async function startNginx(
  config: string,
  replacements: Record<string, string>,
): Promise<Nginx> {
  for (const [from, to] of Object.entries(replacements)) {
    if (!config.includes(from)) throw new Error(`The nginx config has no "${from}"`);
    config = config.replaceAll(from, to);
  }
  if (/^\s*stream\s*\{/m.test(config)) {
    try {
      Deno.statSync(STREAM_MODULE);
      config = `load_module ${STREAM_MODULE};\n${config}`;
    } catch {
      // Built in (the official image's nginx).
    }
  }
  const dir = await Deno.makeTempDir({ prefix: "nginx-test-" });
  await Deno.writeTextFile(`${dir}/nginx.conf`, config);
  const args = ["-p", dir, "-c", `${dir}/nginx.conf`, "-e", `${dir}/error.log`];
  const global = `daemon off; pid ${dir}/nginx.pid;`;
  const check = await new Deno.Command(NGINX_PATH, { args: [...args, "-g", global, "-t"] })
    .output();
  if (!check.success) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw new Error(`nginx refuses the config:\n${new TextDecoder().decode(check.stderr)}`);
  }
  const child = new Deno.Command(NGINX_PATH, {
    args: [...args, "-g", global],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  // Up once it wrote its pid file (the master has bound its ports by then).
  const up = async () => await Deno.stat(`${dir}/nginx.pid`).then(() => true, () => false);
  for (let i = 0; i < 100 && !(await up()); i++) await new Promise((r) => setTimeout(r, 50));
  if (!(await up())) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Gone already.
    }
    await child.status;
    const errors = await stderr + await Deno.readTextFile(`${dir}/error.log`).catch(() => "");
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw new Error(`nginx did not start:\n${errors}`);
  }
  let stopped: Promise<void> | undefined;
  return {
    config,
    errors: () => Deno.readTextFile(`${dir}/error.log`).catch(() => ""),
    stop: () =>
      stopped ??= (async () => {
        try {
          child.kill("SIGTERM"); // the master stops its workers (a graceful quit waits for calls)
        } catch {
          // Already gone.
        }
        const timer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch {
            // Gone.
          }
        }, 3000);
        await child.status;
        clearTimeout(timer);
        await stderr;
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      })(),
  };
}
