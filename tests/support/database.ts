/**
 * A private database for one test server: a fresh schema in the PostgreSQL at `DATABASE_URL`
 * (default `postgres://postgres@127.0.0.1:5432/test`), dropped afterwards. Where no PostgreSQL
 * answers (outside CI) the server gets the embedded PGlite in a temporary directory instead,
 * which is slower to open. Under `CI=true` a missing PostgreSQL is a failure.
 *
 * @module
 */
import { createTestSchema, DEFAULT_TEST_DATABASE_URL, dropTestSchema } from "./store_fixtures.ts";

/** The environment to give the server, and how to clean up. */
export interface TestDatabase {
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

let warned = false;

async function reachable(url: string): Promise<boolean> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new Error(`DATABASE_URL is not a URL: ${url}`);
  }
  try {
    const hostname = target.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1";
    const conn = await Deno.connect({ hostname, port: Number(target.port || 5432) });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/** Makes a private database for one server process. */
export async function testDatabase(): Promise<TestDatabase> {
  const url = Deno.env.get("DATABASE_URL") || DEFAULT_TEST_DATABASE_URL;
  if (await reachable(url)) {
    const schema = await createTestSchema(url);
    return {
      env: { DATABASE_URL: url, DATABASE_SCHEMA: schema },
      cleanup: () => dropTestSchema(url, schema),
    };
  }
  if (Deno.env.get("CI") === "true") {
    throw new Error(`PostgreSQL is not reachable at ${url}, and CI requires it`);
  }
  if (!warned) {
    warned = true;
    console.warn(
      `\n*** PostgreSQL not reachable at ${url}: test servers use the embedded PGlite instead ***\n`,
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "videocall-test-" });
  return {
    env: { DATABASE_URL: "", DATA_DIR: dir },
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}
