import { test } from "node:test";
import assert from "node:assert/strict";
import { labelMatches, parseUntil } from "./container-prune.ts";

const now = new Date("2026-01-01T12:00:00Z");

test("until: Go durations, Unix timestamps and dates", () => {
  assert.equal(parseUntil("10m", now), now.getTime() - 600_000);
  assert.equal(parseUntil("1h30m", now), now.getTime() - 5_400_000);
  assert.equal(parseUntil("1700000000", now), 1_700_000_000_000);
  assert.equal(parseUntil("2025-12-31T00:00:00Z", now), Date.parse("2025-12-31T00:00:00Z"));
  assert.throws(() => parseUntil("yesterday", now), /failed to parse value as time or duration/);
});

test("label filters: key alone or key=value", () => {
  assert.equal(labelMatches({ a: "1" }, "a"), true);
  assert.equal(labelMatches({ a: "1" }, "a=1"), true);
  assert.equal(labelMatches({ a: "1" }, "a=2"), false);
  assert.equal(labelMatches({}, "a"), false);
});
