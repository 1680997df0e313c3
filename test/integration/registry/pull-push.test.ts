import { test } from "node:test";
import assert from "node:assert/strict";
import { kindOf } from "../../../src/core/index.ts";
import { RegistryClient, pullImage, pushImage, type PullProgress } from "../../../src/registry/index.ts";
import { startRegistry } from "../../../src/testing/registry-server.ts";
import { requires } from "../../../src/testing/requires.ts";
import { makeImage, makeIndex, storeIsConsistent, tempStore } from "./helpers.ts";

const gate = { skip: requires("registry") };

test("push then pull round trip: same digests, every blob verified", gate, async () => {
  const reg = await startRegistry();
  const src = await tempStore();
  const dst = await tempStore();
  const client = new RegistryClient({ config: { mirrors: {}, insecure: [] } });
  try {
    const img = await makeImage(src.store, { layerSizes: [1000, 200_000, 3 * 1024 * 1024] });
    const ref = { domain: reg.host, path: "test/round", tag: "v1" };
    const pushed = await pushImage({ client, ref, store: src.store, manifest: img.manifest });
    assert.equal(pushed.digest, img.manifest.digest);

    const events: PullProgress[] = [];
    const got = await pullImage({ client, ref, store: dst.store, onProgress: (e) => events.push(e) });
    assert.equal(got.manifest.digest, img.manifest.digest);
    assert.equal(got.config.digest, img.config.digest);
    assert.deepEqual(got.layers.map((l) => l.digest), img.layers.map((l) => l.digest));
    assert.equal(got.repoDigest, `${reg.host}/test/round@${img.manifest.digest}`);
    assert.equal(got.indexDigest, undefined);
    for (const d of [img.manifest, img.config, ...img.layers]) assert.ok(await dst.store.has(d.digest), d.digest);
    assert.ok(await storeIsConsistent(dst.store));
    assert.equal(events.filter((e) => e.status === "Download complete").length, 3);

    // Second pull: everything already there.
    const again: PullProgress[] = [];
    await pullImage({ client, ref, store: dst.store, onProgress: (e) => again.push(e) });
    assert.equal(again.filter((e) => e.status === "Already exists").length, 3);

    // Pull by digest.
    const byDigest = await pullImage({ client, ref: { domain: reg.host, path: "test/round", digest: img.manifest.digest }, store: dst.store });
    assert.equal(byDigest.manifest.digest, img.manifest.digest);

    // Tags list and a second push that finds every blob present.
    assert.deepEqual(await client.listTags(ref), ["v1"]);
    await pushImage({ client, ref: { ...ref, tag: "v2" }, store: src.store, manifest: img.manifest });
    assert.deepEqual((await client.listTags(ref)).sort(), ["v1", "v2"]);
  } finally {
    await client.close();
    await reg.stop();
    await src.dispose();
    await dst.dispose();
  }
});

test("unknown tag and unknown repository map to Docker's not-found messages", gate, async () => {
  const reg = await startRegistry();
  const src = await tempStore();
  const client = new RegistryClient({ config: { mirrors: {}, insecure: [] } });
  try {
    const img = await makeImage(src.store, { layerSizes: [10] });
    await pushImage({ client, ref: { domain: reg.host, path: "x/y", tag: "a" }, store: src.store, manifest: img.manifest });
    await assert.rejects(client.resolve({ domain: reg.host, path: "x/y", tag: "nope" }), (e) => {
      assert.equal(kindOf(e), "not-found");
      assert.match((e as Error).message, /^manifest for 127\.0\.0\.1:\d+\/x\/y:nope not found: manifest unknown/);
      return true;
    });
    await assert.rejects(client.resolve({ domain: reg.host, path: "no/such", tag: "a" }), (e) => {
      assert.equal(kindOf(e), "not-found");
      return true;
    });
  } finally {
    await client.close();
    await reg.stop();
    await src.dispose();
  }
});

test("platform selection from an index; no match gives Docker's message", gate, async () => {
  const reg = await startRegistry();
  const src = await tempStore();
  const dst = await tempStore();
  const client = new RegistryClient({ config: { mirrors: {}, insecure: [] } });
  try {
    const amd = await makeImage(src.store, { layerSizes: [100], platform: { os: "linux", architecture: "amd64" } });
    const arm = await makeImage(src.store, { layerSizes: [200], platform: { os: "linux", architecture: "arm64", variant: "v8" } });
    const armv7 = await makeImage(src.store, { layerSizes: [300], platform: { os: "linux", architecture: "arm", variant: "v7" } });
    const index = await makeIndex(src.store, [
      { image: amd, platform: { os: "linux", architecture: "amd64" } },
      { image: arm, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
      { image: armv7, platform: { os: "linux", architecture: "arm", variant: "v7" } },
    ]);
    const ref = { domain: reg.host, path: "multi", tag: "latest" };
    const pushed = await pushImage({ client, ref, store: src.store, manifest: index });
    assert.equal(pushed.digest, index.digest);

    const got = await pullImage({ client, ref, store: dst.store, platform: { os: "linux", architecture: "arm64" } });
    assert.equal(got.manifest.digest, arm.manifest.digest);
    assert.equal(got.indexDigest, index.digest);
    assert.equal(got.repoDigest, `${reg.host}/multi@${index.digest}`);
    assert.deepEqual(got.manifest.platform, { os: "linux", architecture: "arm64", variant: "v8" });
    assert.ok(await dst.store.has(index.digest));
    assert.ok(!(await dst.store.has(amd.layers[0]!.digest)), "other platforms' layers are not fetched");

    const v7 = await pullImage({ client, ref, store: dst.store, platform: { os: "linux", architecture: "arm", variant: "v7" } });
    assert.equal(v7.manifest.digest, armv7.manifest.digest);

    await assert.rejects(pullImage({ client, ref, store: dst.store, platform: { os: "linux", architecture: "s390x" } }), (e) => {
      assert.equal(kindOf(e), "not-found");
      assert.equal((e as Error).message, "no matching manifest for linux/s390x in the manifest list entries");
      return true;
    });
  } finally {
    await client.close();
    await reg.stop();
    await src.dispose();
    await dst.dispose();
  }
});

test("chunked upload for blobs larger than chunkSize; cross-repository mount", gate, async () => {
  const reg = await startRegistry();
  const src = await tempStore();
  const dst = await tempStore();
  const client = new RegistryClient({ config: { mirrors: {}, insecure: [] }, chunkSize: 256 * 1024 });
  try {
    const img = await makeImage(src.store, { layerSizes: [1024 * 1024 + 17, 100] });
    const a = { domain: reg.host, path: "team/a", tag: "1" };
    await pushImage({ client, ref: a, store: src.store, manifest: img.manifest });
    const got = await pullImage({ client, ref: a, store: dst.store });
    assert.deepEqual(got.layers.map((l) => l.digest), img.layers.map((l) => l.digest));

    const statuses: string[] = [];
    const b = { domain: reg.host, path: "team/b", tag: "1" };
    await pushImage({ client, ref: b, store: src.store, manifest: img.manifest, mountFrom: { "*": ["team/a"] }, onProgress: (e) => statuses.push(e.status) });
    assert.equal(statuses.filter((s) => s === "Mounted from").length, 3, statuses.join(","));
    assert.ok(!statuses.includes("Pushed"));
    assert.equal((await client.resolve(b)).descriptor.digest, img.manifest.digest);
  } finally {
    await client.close();
    await reg.stop();
    await src.dispose();
    await dst.dispose();
  }
});
