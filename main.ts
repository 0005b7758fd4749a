/**
 * The composition root: configuration from the environment and flags, the web app (routes,
 * islands, static files), then the server. Stops gracefully on SIGINT and SIGTERM.
 *
 * @module
 */
import { createApp } from "fresh";
import { PrebuiltBundleError } from "./lib/fresh/prebuilt.ts";
import { createLogger } from "./lib/log.ts";
import { loadConfig } from "./lib/server/config.ts";
import { settingsHelp } from "./lib/server/settings.ts";
import { startServer } from "./lib/server/server.ts";
import { dataDirProblem } from "./lib/server/data_dir.ts";

if (Deno.args.includes("--help") || Deno.args.includes("-h")) {
  console.log(settingsHelp());
  Deno.exit(0);
}
const result = loadConfig(Deno.args, Deno.env.toObject());
if (!result.ok) {
  console.error(`Invalid configuration: ${result.error}`);
  Deno.exit(2);
}
const problem = await dataDirProblem(result.config);
if (problem !== undefined) {
  console.error(problem);
  Deno.exit(2);
}
const log = createLogger(result.config.logLevel);
let app: Awaited<ReturnType<typeof createApp>>;
try {
  app = await createApp({
    root: new URL(".", import.meta.url),
    log: (event, fields) => log.info(event, fields),
    prebuilt: result.config.prebuiltBundle,
    prebuiltDir: result.config.bundleDir,
  });
} catch (error) {
  // A missing (PREBUILT_BUNDLE=required), stale or damaged build: say so and what to run; any
  // other failure (a broken route) with its stack.
  console.error(error instanceof PrebuiltBundleError ? error.message : error);
  Deno.exit(2);
}
const server = await startServer(result.config, log, {
  pages: (request) => app.handler(request),
  onStopped: () => Deno.exit(0),
});
// Ctrl-C stops at once; SIGTERM (an orchestrator's stop) first hands the sessions to the other
// instances, when there are any (docs/ARCHITECTURE.md, "Drain").
Deno.addSignalListener("SIGINT", async () => {
  await server.shutdown();
  Deno.exit(0);
});
Deno.addSignalListener("SIGTERM", async () => {
  await server.drainAndStop();
  Deno.exit(0);
});
