import { test } from "node:test";
import assert from "node:assert/strict";
import { kindOf } from "../core/errors.ts";
import { memberComponents, whiteoutOf } from "./member-paths.ts";

test("memberComponents normalises lexically", () => {
  const cases: [string, string[]][] = [
    ["a/b", ["a", "b"]],
    ["./a//b/", ["a", "b"]],
    [".", []],
    ["./", []],
    ["a/../b", ["b"]],
    ["a/b/../../c", ["c"]],
    ["a/./b/.", ["a", "b"]],
    ["..a/b..", ["..a", "b.."]],
  ];
  for (const [input, want] of cases) assert.deepEqual(memberComponents(input), want, input);
});

test("memberComponents rejects escapes", () => {
  for (const bad of ["", "/etc/passwd", "//x", "..", "../x", "a/../../x", "./..", "a/\0b"]) {
    assert.throws(() => memberComponents(bad), (e: unknown) => kindOf(e) === "invalid-parameter", JSON.stringify(bad));
  }
});

test("whiteoutOf", () => {
  assert.deepEqual(whiteoutOf("file", "d/file"), { kind: "none" });
  assert.deepEqual(whiteoutOf(".wh..wh..opq", "d/.wh..wh..opq"), { kind: "opaque" });
  assert.deepEqual(whiteoutOf(".wh..wh.plnk", "x"), { kind: "meta" });
  assert.deepEqual(whiteoutOf(".wh.gone", "d/.wh.gone"), { kind: "whiteout", target: "gone" });
  assert.deepEqual(whiteoutOf(".wh..hidden", "d/.wh..hidden"), { kind: "whiteout", target: ".hidden" });
  for (const bad of [".wh.", ".wh..", ".wh..."]) assert.throws(() => whiteoutOf(bad, bad), (e: unknown) => kindOf(e) === "invalid-parameter");
});
