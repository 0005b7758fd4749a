/**
 * The composition root: configuration from the environment and flags, then the server. Stops
 * gracefully on SIGINT and SIGTERM.
 *
 * @module
 */
import { loadConfig } from "./lib/server/config.ts";
import { startServer } from "./lib/server/server.ts";

const result = loadConfig(Deno.args, Deno.env.toObject());
if (!result.ok) {
  console.error(`Invalid configuration: ${result.error}`);
  Deno.exit(2);
}
const server = await startServer(result.config);
const stop = async () => {
  await server.shutdown();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
