import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { kindOf } from "../../core/errors.ts";
import { chompHeredocContent, dumpAST, parse, parseWords } from "./parser.ts";

const testdata = new URL("./testdata/", import.meta.url);
const update = process.env["UPDATE_GOLDEN"] === "1";

const cases = readdirSync(testdata, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

test("golden parser cases: at least 20", () => {
  assert.ok(cases.length >= 20, `only ${cases.length} cases`);
});

for (const name of cases) {
  test(`golden: ${name}`, () => {
    const dir = new URL(`${name}/`, testdata);
    const got = dumpAST(parse(readFileSync(new URL("Dockerfile", dir))));
    const golden = new URL("ast.txt", dir);
    if (update || !existsSync(golden)) {
      assert.ok(update, `missing ${name}/ast.txt: run with UPDATE_GOLDEN=1`);
      writeFileSync(golden, got);
      return;
    }
    assert.equal(got, readFileSync(golden, "utf8"));
  });
}

test("parse: line ranges, original text and flags", () => {
  const r = parse("FROM a\n\nRUN --mount=type=cache,target=/x \\\n  echo hi\n");
  assert.equal(r.children.length, 2);
  const run = r.children[1];
  assert.ok(run);
  assert.equal(run.instruction, "run");
  assert.equal(run.startLine, 3);
  assert.equal(run.endLine, 4);
  assert.deepEqual(run.range, { start: { line: 3, character: 0 }, end: { line: 4, character: 9 } });
  assert.equal(run.original, "RUN --mount=type=cache,target=/x   echo hi");
  assert.deepEqual(run.flags, ["--mount=type=cache,target=/x"]);
  assert.deepEqual(run.value, ["echo hi"]);
});

test("parse: accepts bytes and strings alike", () => {
  const s = "FROM a\nRUN echo é\n";
  assert.equal(dumpAST(parse(new TextEncoder().encode(s))), dumpAST(parse(s)));
});

test("parse: empty-continuation warning names the lines", () => {
  const r = parse("FROM a\nRUN a \\\n\n  b\n");
  assert.equal(r.warnings.length, 1);
  assert.equal(r.warnings[0]?.range.start.line, 2);
  assert.equal(r.warnings[0]?.range.end.line, 4);
  assert.equal(r.warnings[0]?.short, "Empty continuation line found in: RUN a   b");
  assert.equal(r.warnings[0]?.detail, "Empty continuation lines will become errors in a future release");
});

test("chompHeredocContent strips leading tabs only", () => {
  assert.equal(chompHeredocContent("\t\ta\n  b\n\tc\t\n"), "a\n  b\nc\t\n");
});

// Negative cases: testdata-negative/<case>/Dockerfile, with error.txt holding
// "<line>\n<substring of the reason>". Parser-level errors only; instruction
// errors are covered in instructions.test.ts through the same directory.
export const negativeDir = new URL("./testdata-negative/", import.meta.url);

test("parse errors are located invalid-parameter errors", () => {
  const bad: [string, number, string][] = [
    ["FROM a\nRUN <<EOF\necho\n", 2, "unterminated heredoc"],
    ['FROM a\nCMD ["a", 1]\n', 2, "arrays must be comprised of strings only"],
    ["FROM a\n\nENV foo\n", 3, "ENV must have two arguments"],
    ["FROM a\nLABEL a=b c\n", 2, `can't find = in "c"`],
    ["# escape=x\nFROM a\n", 1, "invalid escape token 'x'"],
    ["# escape=`\n# escape=\\\nFROM a\n", 2, "only one escape parser directive can be used"],
  ];
  for (const [src, line, reason] of bad) {
    assert.throws(
      () => parse(src, { file: "app.Dockerfile" }),
      (e: unknown) => {
        assert.equal(kindOf(e), "invalid-parameter");
        const err = e as Error & { detail?: Record<string, unknown> };
        assert.ok(err.message.startsWith(`app.Dockerfile:${line}: `), err.message);
        assert.ok(err.message.includes(reason), err.message);
        assert.equal(err.detail?.["file"], "app.Dockerfile");
        assert.equal(err.detail?.["line"], line);
        return true;
      },
      src,
    );
  }
});

test("parseWords keeps quotes and escapes, like BuildKit", () => {
  const table: [string, string[]][] = [
    ["a b", ["a", "b"]],
    ['a="x y" b', ['a="x y"', "b"]],
    ["a='x\\' b", ["a='x\\'", "b"]], // no escapes inside single quotes
    ['a="x\\" y" b', ['a="x\\" y"', "b"]], // escaped double quote stays inside
    ["a\\ b c", ["a\\ b", "c"]],
    ["a \\", ["a"]], // trailing escape dropped
    ['""', ['""']],
    ["  lead  ", ["lead"]],
  ];
  for (const [input, want] of table) assert.deepEqual(parseWords(input, "\\"), want, input);
  assert.deepEqual(parseWords("a` b", "`"), ["a` b"]);
});
