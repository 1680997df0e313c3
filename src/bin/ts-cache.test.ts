import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const hook = pathToFileURL(join(import.meta.dirname, "ts-cache.mjs")).href;

/** Runs `main.ts` in `dir` through the hook in a fresh Node; returns stdout and the modules stripped afresh. */
function runIn(dir: string, cache: string): { out: string; misses: string[] } {
  const entry = `import { installTsCache } from ${JSON.stringify(hook)};
installTsCache(${JSON.stringify(pathToFileURL(dir).href + "/")});
await import(${JSON.stringify(pathToFileURL(join(dir, "main.ts")).href)});`;
  const r = spawnSync(process.execPath, ["--disable-warning=ExperimentalWarning", "--input-type=module", "-e", entry], {
    env: { ...process.env, BERTH_TS_CACHE: cache, BERTH_TS_CACHE_DEBUG: "1" },
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  const misses = r.stderr.split("\n").filter((l) => l.startsWith("ts-cache miss ")).map((l) => l.slice("ts-cache miss ".length));
  return { out: r.stdout, misses };
}

test("stripped sources are cached, reused, and redone when the source changes", () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-ts-cache-"));
  try {
    const cache = join(dir, "cache");
    writeFileSync(join(dir, "lib.ts"), "export function twice(n: number): number {\n  return n * 2;\n}\n");
    writeFileSync(join(dir, "main.ts"), 'import { twice } from "./lib.ts";\nconst x: number = twice(21);\nconsole.log(x, new Error("here").stack!.split("\\n")[1]);\n');
    const first = runIn(dir, cache);
    assert.match(first.out, /^42 .*main\.ts:3:/, "runs, and stack traces keep their line numbers");
    assert.deepEqual(first.misses.sort(), [join(dir, "lib.ts"), join(dir, "main.ts")]);
    assert.equal(readdirSync(cache).filter((f) => f.endsWith(".js")).length, 2);

    const second = runIn(dir, cache);
    assert.equal(second.out, first.out);
    assert.deepEqual(second.misses, [], "a warm run strips nothing");

    writeFileSync(join(dir, "lib.ts"), "export function twice(n: number): number {\n  return n * 3;\n}\n");
    utimesSync(join(dir, "lib.ts"), new Date(), new Date(Date.now() + 5000));
    const third = runIn(dir, cache);
    assert.match(third.out, /^63 /, "an edited source is not served stale");
    assert.deepEqual(third.misses, [join(dir, "lib.ts")]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a cache directory others can write is not used", () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-ts-cache-"));
  try {
    const cache = join(dir, "cache");
    writeFileSync(join(dir, "main.ts"), "const s: string = 'ok';\nconsole.log(s);\n");
    runIn(dir, cache);
    chmodSync(cache, 0o777);
    const again = runIn(dir, cache);
    assert.equal(again.out, "ok\n");
    assert.deepEqual(again.misses, [join(dir, "main.ts")], "world-writable cache ignored: stripped afresh");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
