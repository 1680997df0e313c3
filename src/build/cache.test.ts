import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Database } from "../state/index.ts";
import { BuildCache, cacheKey, cacheMaxBytes, explainMiss, filesDigest, slotOf, type CacheInputs } from "./cache.ts";

const base: CacheInputs = { parent: "base:sha256:aa", op: "RUN /bin/sh -c make", vars: { PATH: "/bin", NODE_ENV: "dev" }, argNames: ["NODE_ENV"], platform: "linux/amd64" };

test("cacheKey: same inputs, same key, whatever the key order; ignores argNames and the file list", () => {
  const a = cacheKey(base);
  const b = cacheKey({ platform: "linux/amd64", vars: { NODE_ENV: "dev", PATH: "/bin" }, op: base.op, parent: base.parent, argNames: [] });
  assert.equal(a, b);
  assert.match(a, /^sha256:[a-f0-9]{64}$/);
  const files = { "a.js": "1" };
  assert.equal(cacheKey({ ...base, files, filesDigest: filesDigest(files) }), cacheKey({ ...base, filesDigest: filesDigest(files) }));
});

test("cacheKey: each input changes the key", () => {
  const k = cacheKey(base);
  assert.notEqual(cacheKey({ ...base, parent: "scratch" }), k);
  assert.notEqual(cacheKey({ ...base, op: "RUN /bin/sh -c make all" }), k);
  assert.notEqual(cacheKey({ ...base, vars: { ...base.vars, NODE_ENV: "prod" } }), k);
  assert.notEqual(cacheKey({ ...base, platform: "linux/arm64" }), k);
  assert.notEqual(cacheKey({ ...base, filesDigest: filesDigest({ "a.js": "1" }) }), cacheKey({ ...base, filesDigest: filesDigest({ "a.js": "2" }) }));
});

test("explainMiss: the reason table", () => {
  const files = (f: Record<string, string>): Partial<CacheInputs> => ({ files: f, filesDigest: filesDigest(f) });
  const rows: [CacheInputs | undefined, CacheInputs, string, { parentReason?: string; baseKey?: string }?][] = [
    [undefined, base, "no previous build of this step"],
    [base, { ...base, parent: "base:sha256:bb" }, "base image changed", { baseKey: "base:sha256:bb" }],
    [base, { ...base, parent: "sha256:11" }, "parent step changed (app.js changed)", { parentReason: "app.js changed", baseKey: "base:sha256:bb" }],
    [base, { ...base, vars: { ...base.vars, NODE_ENV: "production" } }, "build arg NODE_ENV changed"],
    [base, { ...base, vars: { ...base.vars, PATH: "/usr/bin" } }, "env PATH changed"],
    [base, { ...base, op: "RUN /bin/sh -c make test" }, "instruction changed"],
    [{ ...base, ...files({ "app/server.js": "1", "app/a": "1" }) }, { ...base, ...files({ "app/server.js": "2", "app/a": "1" }) }, "app/server.js changed"],
    [{ ...base, ...files({ a: "1" }) }, { ...base, ...files({ a: "1", b: "1" }) }, "b added"],
    [{ ...base, ...files({ a: "1", b: "1" }) }, { ...base, ...files({ a: "1" }) }, "b removed"],
    [{ ...base, ...files({ a: "1", b: "1", c: "1", d: "1" }) }, { ...base, ...files({ a: "2", b: "2", c: "2", d: "2" }) }, "a, b, c and 1 more changed"],
    [base, base, "no cache record (pruned)"],
    [base, { ...base, parent: "sha256:22", vars: { ...base.vars, NODE_ENV: "x" } }, "build arg NODE_ENV changed", { parentReason: "a changed" }],
    [base, { ...base, parent: "sha256:22" }, "parent step changed (a changed)", { parentReason: "parent step changed (a changed)" }],
    [base, { ...base, parent: "sha256:22" }, "base image changed", { parentReason: "base image changed" }],
  ];
  for (const [prev, cur, want, o] of rows) assert.equal(explainMiss(prev, cur, o ?? {}), want);
});

test("BuildCache: put/get, slots remember the last inputs, LRU prune by size", () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-cache-"));
  try {
    const db = Database.open({ path: join(dir, "db") });
    let t = 0;
    const cache = new BuildCache(db, () => new Date(1_700_000_000_000 + t++ * 1000));
    const slot = slotOf(["ctx", "Dockerfile", 0, 1]);
    assert.equal(cache.get("sha256:k1"), undefined);
    assert.equal(cache.previous(slot), undefined);
    cache.put("sha256:k1", { size: 100, inputs: base }, slot);
    cache.put("sha256:k2", { size: 200, inputs: { ...base, op: "x" } }, slot);
    cache.put("sha256:k3", { size: 300, inputs: base });
    assert.equal(cache.previous(slot)?.op, "x");
    assert.equal(cache.get("sha256:k1")?.size, 100); // k1 now the most recently used
    assert.equal(cache.size(), 600);
    const r = cache.prune(350);
    assert.deepEqual(r, { removed: 2, freed: 500 }); // k2, then k3
    assert.ok(cache.get("sha256:k1"));
    assert.equal(cache.get("sha256:k2"), undefined);
    assert.equal(cache.get("sha256:k3"), undefined);
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("cacheMaxBytes parses BERTH_BUILD_CACHE_MAX", () => {
  assert.equal(cacheMaxBytes({}), 10 * 1024 ** 3);
  assert.equal(cacheMaxBytes({ BERTH_BUILD_CACHE_MAX: "512m" }), 512 * 1024 ** 2);
  assert.equal(cacheMaxBytes({ BERTH_BUILD_CACHE_MAX: "1000" }), 1000);
});
