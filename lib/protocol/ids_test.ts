import { assert, assertEquals, assertFalse } from "../../tests/support/assert.ts";
import { validateId } from "./ids.ts";

Deno.test("validateId() accepts letters, digits, underscore and dash up to 64 characters", () => {
  for (const id of ["a", "Standup_2024-Q1", "x".repeat(64)]) {
    const result = validateId("room id", id);
    assert(result.ok, id);
    assertEquals(result.id, id);
  }
});

Deno.test("validateId() refuses anything that could change a NATS subject, with a clear reason", () => {
  const cases: [string, string][] = [
    ["", "The room id is empty"],
    ["x".repeat(65), "The room id is longer than 64 characters"],
    ["a.b", 'The room id "a.b" may only contain letters, digits, "_" and "-"'],
    ["a*", 'The room id "a*" may only contain letters, digits, "_" and "-"'],
    ["a>", 'The room id "a>" may only contain letters, digits, "_" and "-"'],
    ["a b", 'The room id "a b" may only contain letters, digits, "_" and "-"'],
    ["ü", 'The room id "?" may only contain letters, digits, "_" and "-"'],
    ["a\nb", 'The room id "a?b" may only contain letters, digits, "_" and "-"'],
  ];
  for (const [id, reason] of cases) {
    const result = validateId("room id", id);
    assertFalse(result.ok, JSON.stringify(id));
    assertEquals(result.reason, reason);
  }
});
