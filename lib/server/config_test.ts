import { assert, assertEquals, assertFalse } from "../../tests/support/assert.ts";
import { loadConfig } from "./config.ts";

Deno.test("loadConfig() uses embedded defaults with nothing set", () => {
  const result = loadConfig([], {});
  assert(result.ok);
  assertEquals(result.config.port, 8080);
  assertEquals(result.config.natsUrl, "");
  assertEquals(result.config.limits.maxPacketBytes, 4_000_000);
});

Deno.test("loadConfig() lets a flag win over its environment variable", () => {
  const result = loadConfig(["--port=9001", "--nats-url", "nats://127.0.0.1:4222"], {
    PORT: "9000",
  });
  assert(result.ok);
  assertEquals(result.config.port, 9001);
  assertEquals(result.config.natsUrl, "nats://127.0.0.1:4222");
});

Deno.test("loadConfig() explains every invalid value at once", () => {
  const result = loadConfig([], {
    PORT: "eighty",
    MAX_PACKET_BYTES: "1",
    LOG_LEVEL: "loud",
    NATS_URL: "http://x",
  });
  assertFalse(result.ok);
  assert(result.error.includes('PORT must be a whole number, got "eighty"'), result.error);
  assert(result.error.includes("MAX_PACKET_BYTES must be between 64 and"), result.error);
  assert(result.error.includes("LOG_LEVEL must be one of"), result.error);
  assert(result.error.includes("NATS_URL must look like nats://host:port"), result.error);
});

Deno.test("loadConfig() refuses unknown flags and flags without a value", () => {
  const unknown = loadConfig(["--prot", "1"], {});
  assertFalse(unknown.ok);
  assertEquals(unknown.error, 'Unknown flag "--prot"');
  const missing = loadConfig(["--port"], {});
  assertFalse(missing.ok);
  assertEquals(missing.error, 'Flag "--port" needs a value');
});
