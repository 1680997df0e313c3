import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { kindOf, type Digest } from "../../../src/core/index.ts";
import { RegistryClient, pullImage, pushImage } from "../../../src/registry/index.ts";
import { startRegistry, type RegistryServer } from "../../../src/testing/registry-server.ts";
import { requires } from "../../../src/testing/requires.ts";
import { startFaultProxy, type Fault, type SeenRequest } from "./fault-proxy.ts";
import { makeImage, storeIsConsistent, tempStore, type TestImage } from "./helpers.ts";

const gate = { skip: requires("registry") };
const config = { mirrors: {}, insecure: [] };

let reg: RegistryServer | undefined;
let img: TestImage | undefined;
const REPO = "fault/app";

async function setup(): Promise<{ reg: RegistryServer; img: TestImage }> {
  if (reg && img) return { reg, img };
  reg = await startRegistry();
  const src = await tempStore();
  try {
    img = await makeImage(src.store, { layerSizes: [300_000, 700_000] });
    const client = new RegistryClient({ config });
    await pushImage({ client, ref: { domain: reg.host, path: REPO, tag: "1" }, store: src.store, manifest: img.manifest });
    await client.close();
  } finally {
    await src.dispose();
  }
  return { reg, img };
}

test.after(async () => {
  await reg?.stop();
});

const isBlob = (req: IncomingMessage, d?: Digest): boolean => req.method === "GET" && /\/blobs\/sha256:/.test(req.url ?? "") && (d === undefined || (req.url ?? "").endsWith(d));
const isManifest = (req: IncomingMessage): boolean => req.method === "GET" && /\/manifests\//.test(req.url ?? "");
const count = (seen: readonly SeenRequest[], pred: (s: SeenRequest) => boolean): number => seen.filter(pred).length;

/** Pulls through a proxy with the given fault policy; returns the outcome and what the store holds afterwards. */
async function pullThrough(
  decide: (req: IncomingMessage, seen: readonly SeenRequest[]) => Fault,
  o: { bodyMs?: number; attempts?: number; signal?: AbortSignal } = {},
) {
  const { reg, img } = await setup();
  const proxy = await startFaultProxy(reg.host, decide);
  const { store, dispose } = await tempStore();
  const client = new RegistryClient({
    config,
    retry: { attempts: o.attempts ?? 4, baseDelayMs: 20, maxDelayMs: 200 },
    timeouts: { bodyMs: o.bodyMs ?? 5000, headersMs: 5000 },
  });
  const started = Date.now();
  try {
    let error: unknown;
    let result;
    try {
      result = await pullImage({ client, ref: { domain: proxy.host, path: REPO, tag: "1" }, store, ...(o.signal ? { signal: o.signal } : {}) });
    } catch (e) {
      error = e;
    }
    const blobs: string[] = [];
    for await (const b of store.walk()) blobs.push(b.digest);
    return {
      img,
      error,
      result,
      blobs,
      consistent: await storeIsConsistent(store),
      temps: (await readdir(store.tmpDir)).length,
      seen: proxy.seen,
      ms: Date.now() - started,
    };
  } finally {
    await client.close();
    await proxy.stop();
    await dispose();
  }
}

test("a blob with the wrong content fails with data-loss and is never stored", gate, async () => {
  let target: Digest | undefined;
  const r = await pullThrough((req) => {
    target ??= img?.layers[1]?.digest;
    return isBlob(req, target) ? { kind: "corrupt" } : { kind: "pass" };
  });
  assert.equal(kindOf(r.error), "data-loss", String(r.error));
  assert.ok(!r.blobs.includes(r.img.layers[1]!.digest));
  assert.ok(!r.blobs.includes(r.img.manifest.digest), "no manifest without its blobs");
  assert.ok(r.consistent);
  assert.equal(r.temps, 0);
});

test("a truncated blob body resumes with a Range request", gate, async () => {
  let cut = false;
  const r = await pullThrough((req) => {
    if (!cut && isBlob(req, img?.layers[1]?.digest)) {
      cut = true;
      return { kind: "truncate" };
    }
    return { kind: "pass" };
  });
  assert.equal(r.error, undefined, String(r.error));
  assert.ok(r.blobs.includes(r.img.layers[1]!.digest));
  const ranged = r.seen.filter((s) => s.range !== undefined);
  assert.equal(ranged.length, 1);
  assert.match(ranged[0]!.range!, /^bytes=\d+-$/);
  assert.ok(Number(/\d+/.exec(ranged[0]!.range!)![0]) > 0);
  assert.ok(r.consistent);
});

test("a 500 then success is retried", gate, async () => {
  let failed = 0;
  const r = await pullThrough((req) => (isManifest(req) && failed++ < 2 ? { kind: "respond", status: 500, body: "boom" } : { kind: "pass" }));
  assert.equal(r.error, undefined, String(r.error));
  assert.equal(count(r.seen, (s) => s.url.includes("/manifests/")), 3);
  assert.equal(r.result?.manifest.digest, r.img.manifest.digest);
});

test("a 429 with Retry-After is honoured", gate, async () => {
  let limited = false;
  const r = await pullThrough((req) => {
    if (!limited && isBlob(req)) {
      limited = true;
      return { kind: "respond", status: 429, headers: { "retry-after": "1", "content-type": "application/json" }, body: JSON.stringify({ errors: [{ code: "TOOMANYREQUESTS", message: "slow down" }] }) };
    }
    return { kind: "pass" };
  });
  assert.equal(r.error, undefined, String(r.error));
  assert.ok(r.ms >= 950, `pull took ${r.ms} ms, Retry-After was 1 s`);
  assert.ok(r.consistent);
});

test("a stalled download times out and resumes", gate, async () => {
  let stalled = false;
  const r = await pullThrough(
    (req) => {
      if (!stalled && isBlob(req, img?.layers[0]?.digest)) {
        stalled = true;
        return { kind: "stall" };
      }
      return { kind: "pass" };
    },
    { bodyMs: 300 },
  );
  assert.equal(r.error, undefined, String(r.error));
  assert.equal(r.seen.filter((s) => s.range !== undefined).length, 1);
  assert.ok(r.blobs.includes(r.img.layers[0]!.digest));
  assert.ok(r.consistent);
});

test("an oversized manifest is refused and nothing is stored", gate, async () => {
  const big = Buffer.alloc(5 * 1024 * 1024, 0x20);
  const r = await pullThrough((req) =>
    isManifest(req) ? { kind: "respond", status: 200, headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" }, body: big } : { kind: "pass" },
  );
  assert.equal(kindOf(r.error), "invalid-parameter", String(r.error));
  assert.match(String(r.error), /manifest/);
  assert.deepEqual(r.blobs, []);
});

test("a tag whose manifest does not match the requested digest is data-loss", gate, async () => {
  const { reg, img } = await setup();
  const { store, dispose } = await tempStore();
  const client = new RegistryClient({ config });
  const proxy = await startFaultProxy(reg.host, (req) => (isManifest(req) ? { kind: "corrupt" } : { kind: "pass" }));
  try {
    await assert.rejects(pullImage({ client, ref: { domain: proxy.host, path: REPO, digest: img.manifest.digest }, store }), (e) => {
      // A flipped byte either breaks the digest check or the JSON; the digest check runs first.
      assert.equal(kindOf(e), "data-loss");
      return true;
    });
    assert.equal(await store.has(img.manifest.digest), false);
  } finally {
    await proxy.stop();
    await client.close();
    await dispose();
  }
});

test("persistent 503 ends as unavailable after the bounded retries", gate, async () => {
  const r = await pullThrough((req) => (isManifest(req) ? { kind: "respond", status: 503 } : { kind: "pass" }), { attempts: 3 });
  assert.equal(kindOf(r.error), "unavailable", String(r.error));
  assert.equal(count(r.seen, (s) => s.url.includes("/manifests/")), 3);
});

test("aborting a stalled pull cancels promptly and leaves no temp files", gate, async () => {
  const ac = new AbortController();
  const r = await pullThrough(
    (req) => {
      if (isBlob(req)) {
        setTimeout(() => ac.abort(), 200);
        return { kind: "stall" };
      }
      return { kind: "pass" };
    },
    { bodyMs: 60_000, signal: ac.signal },
  );
  assert.equal(kindOf(r.error), "cancelled", String(r.error));
  assert.ok(r.ms < 5000, `took ${r.ms} ms`);
  assert.equal(r.temps, 0);
  assert.ok(r.consistent);
});

test("docker.io pulls go to the configured mirror", gate, async () => {
  const { reg, img } = await setup();
  const src = await tempStore();
  const dst = await tempStore();
  const client = new RegistryClient({ config: { mirrors: { "docker.io": [reg.url] }, insecure: [] } });
  try {
    // Seed the mirror with library/mirrored (a pull-through cache would hold it under the same path).
    const seed = new RegistryClient({ config });
    const local = await makeImage(src.store, { layerSizes: [1234] });
    await pushImage({ client: seed, ref: { domain: reg.host, path: "library/mirrored", tag: "latest" }, store: src.store, manifest: local.manifest });
    await seed.close();
    const got = await pullImage({ client, ref: { domain: "docker.io", path: "library/mirrored", tag: "latest" }, store: dst.store });
    assert.equal(got.manifest.digest, local.manifest.digest);
    assert.equal(got.repoDigest, `docker.io/library/mirrored@${local.manifest.digest}`);
    assert.ok(img.manifest.digest !== local.manifest.digest);
  } finally {
    await client.close();
    await src.dispose();
    await dst.dispose();
  }
});
