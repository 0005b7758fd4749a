/**
 * A private database for one test server: a fresh schema in the PostgreSQL at `DATABASE_URL`
 * (default `postgres://postgres@127.0.0.1:5432/test`), dropped afterwards. Where no PostgreSQL
 * answers (outside CI) the server gets the embedded PGlite in a temporary directory instead,
 * which is slower to open. Under `CI=true` a missing PostgreSQL is a failure.
 *
 * @module
 */
import { createTestSchema, dropTestSchema } from "./store_fixtures.ts";

/** The environment to give the server, and how to clean up. */
export interface TestDatabase {
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

const DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/test";

async function reachable(url: string): Promise<boolean> {
  const match = /@([^:/]+):([0-9]+)\//.exec(url);
  if (!match) return false;
  try {
    const conn = await Deno.connect({ hostname: match[1], port: Number(match[2]) });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/** Makes a private database for one server process. */
export async function testDatabase(): Promise<TestDatabase> {
  const url = Deno.env.get("DATABASE_URL") || DEFAULT_URL;
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
  const dir = await Deno.makeTempDir({ prefix: "videocall-test-" });
  return {
    env: { DATABASE_URL: "", DATA_DIR: dir },
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}
