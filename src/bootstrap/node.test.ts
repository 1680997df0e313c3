import { test } from "node:test";
import assert from "node:assert/strict";
import { nodeArch, npmMajorFor, npmRegistry, pickVersion } from "./node.ts";

test("pickVersion takes the highest release matching a major, minor or exact spec", () => {
  const v = ["24.9.0", "24.11.1", "24.11.0", "24.10.3", "25.0.0", "24.12.0-rc.1", "2.4.0", "240.0.0"];
  assert.equal(pickVersion(v, "24"), "24.11.1");
  assert.equal(pickVersion(v, "24.10"), "24.10.3");
  assert.equal(pickVersion(v, "24.9.0"), "24.9.0");
  assert.equal(pickVersion(v, "23"), undefined);
  assert.throws(() => pickVersion(v, "^24"), { kind: "invalid-parameter" });
  assert.throws(() => pickVersion(v, "lts"), { kind: "invalid-parameter" });
});

test("nodeArch maps OCI architectures to Node's package suffixes", () => {
  assert.equal(nodeArch("amd64"), "x64");
  assert.equal(nodeArch("arm64"), "arm64");
  assert.throws(() => nodeArch("mips"), { kind: "invalid-parameter" });
});

test("npmRegistry honours npm's environment and always ends in a slash", () => {
  assert.equal(npmRegistry({}), "https://registry.npmjs.org/");
  assert.equal(npmRegistry({ npm_config_registry: "http://127.0.0.1:4873" }), "http://127.0.0.1:4873/");
  assert.equal(npmRegistry({ NPM_CONFIG_REGISTRY: "http://r/" }), "http://r/");
});

test("npmMajorFor follows the npm that ships with each Node major", () => {
  assert.equal(npmMajorFor(24), "11");
  assert.equal(npmMajorFor(22), "10");
});
