import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { kindOf } from "../../core/errors.ts";
import { envListToMap, expandWord, expandWords, processWord } from "./shell.ts";

interface Case {
  readonly line: number;
  readonly platform: string;
  readonly input: string;
  readonly expected: string;
  readonly env: Map<string, string>;
}

/** Reads a BuildKit-style `platform|input|expected` file with `ENV K=V` lines. */
function readCases(name: string): Case[] {
  const text = readFileSync(new URL(`./testdata/${name}`, import.meta.url), "utf8");
  const env = new Map<string, string>();
  const cases: Case[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    if (line.startsWith("ENV ")) {
      const kv = raw.slice(raw.indexOf("ENV ") + 4);
      const eq = kv.indexOf("=");
      env.set(kv.slice(0, eq), kv.slice(eq + 1));
      return;
    }
    const first = line.indexOf("|");
    const last = line.lastIndexOf("|");
    assert.ok(first > 0 && last > first, `${name}:${i + 1}: malformed line`);
    cases.push({
      line: i + 1,
      platform: line.slice(0, first).trim(),
      input: line.slice(first + 1, last).trim(),
      expected: line.slice(last + 1).trim(),
      env: new Map(env),
    });
  });
  return cases;
}

test("envvars.txt: ProcessWord golden cases", () => {
  const cases = readCases("envvars.txt");
  assert.ok(cases.length > 90);
  for (const c of cases) {
    if (c.platform === "W") continue; // Windows-only behaviour
    const where = `envvars.txt:${c.line} ${c.input}`;
    if (c.expected.startsWith("error:")) {
      assert.throws(
        () => expandWord(c.input, c.env),
        (e: unknown) => kindOf(e) === "invalid-parameter" && (e as Error).message.includes(c.expected.slice(6)),
        where,
      );
    } else {
      assert.equal(expandWord(c.input, c.env), c.expected, where);
    }
  }
});

test("words.txt: ProcessWords golden cases", () => {
  const cases = readCases("words.txt");
  assert.ok(cases.length > 15);
  for (const c of cases) {
    if (c.platform === "W") continue;
    assert.deepEqual(expandWords(c.input, c.env), JSON.parse(c.expected), `words.txt:${c.line} ${c.input}`);
  }
});

test("tracks matched and unmatched variables", () => {
  const env = { A: "1", B: "", C: "3" };
  const r = processWord("$A ${B:-x} ${U1} ${U2:-$C} '$NOTREAD' \\$ESCAPED", env);
  assert.equal(r.result, "1 x  3 $NOTREAD $ESCAPED");
  assert.deepEqual([...r.matched].sort(), ["A", "B", "C"]);
  assert.deepEqual([...r.unmatched].sort(), ["U1", "U2"]);
});

test("accepts a Map and a Record; own keys only", () => {
  assert.equal(expandWord("$A", new Map([["A", "m"]])), "m");
  assert.equal(expandWord("$A", { A: "r" }), "r");
  assert.equal(expandWord("[$toString]", {}), "[]");
  assert.equal(expandWord("$constructor", {}), "");
});

test("backtick escape token", () => {
  const env = { V: "x" };
  assert.equal(expandWord("a`$V", env, { escape: "`" }), "a$V");
  assert.equal(expandWord("c:\\dir\\$V", env, { escape: "`" }), "c:\\dir\\x");
  assert.equal(expandWord('"a`"b"', env, { escape: "`" }), 'a"b');
  assert.deepEqual(expandWords("a` b c", env, { escape: "`" }), ["a b", "c"]);
});

test("error message names the word", () => {
  assert.throws(() => expandWord("x${", {}), { message: `failed to process "x\${": syntax error: missing '}'` });
});

test("envListToMap: later entries win, missing = means empty", () => {
  const m = envListToMap(["A=1", "B=x=y", "A=2", "C"]);
  assert.deepEqual([...m], [["A", "2"], ["B", "x=y"], ["C", ""]]);
});
