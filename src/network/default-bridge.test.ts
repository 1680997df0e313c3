import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_BRIDGE, DEFAULT_STATE_DIR, defaultBridgeFor } from "./backend.ts";

test("the default root keeps berth0; every other root gets its own stable bridge name", () => {
  assert.equal(defaultBridgeFor(DEFAULT_STATE_DIR), DEFAULT_BRIDGE);
  const a = defaultBridgeFor("/tmp/berth-test-a/root/network");
  const b = defaultBridgeFor("/tmp/berth-test-b/root/network");
  assert.match(a, /^berth-[0-9a-f]{6}$/);
  assert.ok(a.length <= 15, "fits IFNAMSIZ");
  assert.notEqual(a, b);
  assert.equal(defaultBridgeFor("/tmp/berth-test-a/root/network"), a, "stable");
});
