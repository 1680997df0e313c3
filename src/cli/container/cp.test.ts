import { test } from "node:test";
import assert from "node:assert/strict";
import { splitCpArg } from "./cp.ts";

test("splitCpArg follows docker: absolute and ./ paths are local, else CONTAINER:PATH", () => {
  assert.deepEqual(splitCpArg("web:/etc/hosts"), { container: "web", path: "/etc/hosts" });
  assert.deepEqual(splitCpArg("/tmp/a:b"), { container: "", path: "/tmp/a:b" });
  assert.deepEqual(splitCpArg("./a:b"), { container: "", path: "./a:b" });
  assert.deepEqual(splitCpArg("file.txt"), { container: "", path: "file.txt" });
  assert.deepEqual(splitCpArg("-"), { container: "", path: "-" });
  assert.deepEqual(splitCpArg("c:"), { container: "c", path: "" });
});
