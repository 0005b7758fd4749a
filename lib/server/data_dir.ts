/**
 * The start-up check of `DATA_DIR`: without `DATABASE_URL` the embedded store lives there, and a
 * server that may not write there used to find out on the first join. Now it says so at start,
 * with the fix.
 *
 * @module
 */
import type { ServerConfig } from "./config.ts";

/**
 * Why the embedded store could not live in `DATA_DIR`, or undefined when it can (or when
 * `DATABASE_URL` is set and nothing is written). Creates the directory if it is missing.
 */
export async function dataDirProblem(
  config: Pick<ServerConfig, "databaseUrl" | "dataDir">,
): Promise<string | undefined> {
  if (config.databaseUrl !== "") return undefined;
  const dir = config.dataDir;
  const permission = await Deno.permissions.query({ name: "write", path: dir });
  if (permission.state !== "granted") {
    return `DATA_DIR=${dir} is not writable by this process (\`deno task start\` may write only ` +
      `./data). Start it with \`deno run --allow-net --allow-env --allow-read --allow-sys ` +
      `--allow-write=${dir} main.ts\`, or set DATABASE_URL to keep meetings in PostgreSQL.`;
  }
  try {
    await Deno.mkdir(dir, { recursive: true });
    const probe = `${dir}/.write-check-${crypto.randomUUID()}`;
    await Deno.writeTextFile(probe, "");
    await Deno.remove(probe);
  } catch (error) {
    return `DATA_DIR=${dir} cannot be used: ${error instanceof Error ? error.message : error}. ` +
      `Give the server's user a directory it may write, or set DATABASE_URL.`;
  }
  return undefined;
}
