import { test } from "node:test";
import assert from "node:assert/strict";
import { IgnoreMatcher, parseDockerignore } from "./dockerignore.ts";

test("parseDockerignore: comments, blanks, cleaning, leading slash, exceptions", () => {
  assert.deepEqual(parseDockerignore("# c\n\n  /foo/  \n!bar/./baz\r\n./x\n**/*.log\n"), ["foo", "!bar/baz", "x", "**/*.log"]);
});

// [patterns, path, excluded] (cases after moby/patternmatcher's tests)
const cases: [string, string, boolean][] = [
  ["*.md", "README.md", true],
  ["*.md", "docs/README.md", false],
  ["**/*.md", "docs/README.md", true],
  ["**/*.md", "README.md", true],
  ["docs", "docs/a/b.txt", true],
  ["/docs", "docs/a/b.txt", true],
  ["docs/", "docs/x", true],
  ["node_modules", "app/node_modules/x", false],
  ["**/node_modules", "app/node_modules/x", true],
  ["a/**/b", "a/b", true],
  ["a/**/b", "a/x/y/b", true],
  ["a/**/b", "a/x/y/c", false],
  ["a/**", "a/x/y", true],
  ["a/**", "b/a", false],
  ["?.txt", "a.txt", true],
  ["?.txt", "ab.txt", false],
  ["[ab].txt", "b.txt", true],
  ["[!ab].txt", "b.txt", false],
  ["[!ab].txt", "c.txt", true],
  ["a.b", "axb", false],
  ["*\n!keep.md", "keep.md", false],
  ["*\n!keep.md", "other.md", true],
  ["*.md\n!README.md\nREADME.md", "README.md", true],
  ["docs\n!docs/keep", "docs/keep/a.txt", false],
  ["docs\n!docs/keep", "docs/drop/a.txt", true],
  ["secret*", "secret.txt", true],
  ["dir/*/x", "dir/a/x", true],
  ["dir/*/x", "dir/a/b/x", false],
  ["", "anything", false],
];

for (const [patterns, path, want] of cases) {
  test(`dockerignore ${JSON.stringify(patterns)} ${path} → ${want ? "excluded" : "kept"}`, () => {
    assert.equal(IgnoreMatcher.fromText(patterns).excludes(path), want);
  });
}

test("mayHaveExceptionsUnder: walk into an excluded dir only when an exception can match inside", () => {
  const m = IgnoreMatcher.fromText("docs\n!docs/keep/*.txt");
  assert.equal(m.mayHaveExceptionsUnder("docs"), true);
  assert.equal(m.mayHaveExceptionsUnder("docs/keep"), true);
  assert.equal(m.mayHaveExceptionsUnder("docs/drop"), false);
  assert.equal(IgnoreMatcher.fromText("docs").mayHaveExceptionsUnder("docs"), false);
  assert.equal(IgnoreMatcher.fromText("x\n!**/y").mayHaveExceptionsUnder("x"), true);
});
