import { test } from "node:test";
import assert from "node:assert/strict";
import { PassThrough, Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { extract } from "tar-stream";
import type { ContentStore } from "../content/content-store.ts";
import { digestOf, kindOf, type Digest } from "../core/index.ts";
import { MediaTypes } from "../oci/index.ts";
import { MemoryContentStore } from "../testing/memory-content-store.ts";
import { TarBuilder } from "../testing/tar-builder.ts";
import { loadArchive, saveArchive, type SaveImage } from "./index.ts";
import { makeTestImage, randomLayerTar } from "../testing/random-image.ts";

async function saveToBuffer(content: ContentStore, images: SaveImage[], mtime?: number): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on("data", (c: Buffer) => chunks.push(c));
  await saveArchive({ images, content, out, ...(mtime !== undefined ? { mtime } : {}) });
  return Buffer.concat(chunks);
}

interface TarMember {
  name: string;
  type: string;
  data: Buffer;
  mtime: number;
  uid: number;
  gid: number;
}

async function members(tar: Buffer): Promise<TarMember[]> {
  const ex = extract();
  const out: TarMember[] = [];
  Readable.from([tar]).pipe(ex);
  for await (const e of ex) {
    const chunks: Buffer[] = [];
    for await (const c of e) chunks.push(c as Buffer);
    const h = e.header;
    out.push({ name: h.name, type: String(h.type), data: Buffer.concat(chunks), mtime: h.mtime?.getTime() ?? -1, uid: h.uid ?? -1, gid: h.gid ?? -1 });
  }
  return out;
}

/** Every blob in the store hashes to its name (no blob under a wrong digest, ever). */
async function assertStoreHonest(content: ContentStore): Promise<void> {
  for await (const b of content.walk()) {
    const bytes = Buffer.concat(await (await content.openRead(b.digest)).toArray());
    assert.equal(digestOf(bytes), b.digest);
  }
}

async function fixture() {
  const content = new MemoryContentStore();
  const a = await makeTestImage(content, { layers: 3, compression: "gzip" });
  const b = await makeTestImage(content, { layers: 2, compression: "none" });
  const c = await makeTestImage(content, { layers: 1, compression: "gzip", docker: true });
  const images: SaveImage[] = [
    { id: a.id, manifest: a.manifest, tags: ["busybox:latest", "localhost:5000/team/app:v1"] },
    { id: b.id, manifest: b.manifest, tags: ["plain:1"] },
    { id: c.id, manifest: c.manifest, tags: [] },
  ];
  return { content, a, b, c, images };
}

test("save writes an OCI layout and a docker-archive over the same blobs", async () => {
  const { content, a, b, c, images } = await fixture();
  const tar = await saveToBuffer(content, images);
  const ms = await members(tar);
  const names = ms.map((m) => m.name);
  assert.deepEqual(names.slice(0, 6), ["oci-layout", "index.json", "manifest.json", "repositories", "blobs/", "blobs/sha256/"]);
  for (const m of ms) {
    assert.equal(m.mtime, 0, m.name);
    assert.equal(m.uid, 0);
    assert.equal(m.gid, 0);
    if (m.name.startsWith("blobs/sha256/") && m.type === "file") assert.equal(digestOf(m.data), `sha256:${m.name.slice(13)}`);
  }
  assert.equal(new Set(names).size, names.length, "no duplicate members");
  const get = (n: string) => JSON.parse(ms.find((m) => m.name === n)!.data.toString());
  assert.equal(get("oci-layout").imageLayoutVersion, "1.0.0");
  const index = get("index.json");
  assert.equal(index.manifests.length, 4); // two tags + one tag + one untagged
  assert.equal(index.manifests[0].annotations["io.containerd.image.name"], "docker.io/library/busybox:latest");
  assert.equal(index.manifests[0].annotations["org.opencontainers.image.ref.name"], "latest");
  assert.equal(index.manifests[1].annotations["io.containerd.image.name"], "localhost:5000/team/app:v1");
  assert.equal(index.manifests[0].digest, a.manifest.digest);
  assert.equal(index.manifests[3].digest, c.manifest.digest);
  assert.equal(index.manifests[3].annotations, undefined);
  const dm = get("manifest.json");
  assert.deepEqual(dm[0].RepoTags, ["busybox:latest", "localhost:5000/team/app:v1"]);
  assert.equal(dm[2].RepoTags, null);
  assert.equal(dm[0].Config, `blobs/sha256/${a.id.slice(7)}`);
  // docker-archive layers are the uncompressed tars: named by, and hashing to, the diff IDs.
  assert.deepEqual(dm[0].Layers, a.diffIds.map((d) => `blobs/sha256/${d.slice(7)}`));
  assert.deepEqual(dm[1].Layers, b.diffIds.map((d) => `blobs/sha256/${d.slice(7)}`));
  for (const d of [...a.diffIds, ...b.diffIds, ...c.diffIds]) assert.ok(names.includes(`blobs/sha256/${d.slice(7)}`));
  // the stored compressed layers are there too, for the OCI side
  for (const l of a.layers) assert.ok(names.includes(`blobs/sha256/${l.digest.slice(7)}`));
  assert.deepEqual(get("repositories"), {
    busybox: { latest: a.diffIds[2]!.slice(7) },
    "localhost:5000/team/app": { v1: a.diffIds[2]!.slice(7) },
    plain: { "1": b.diffIds[1]!.slice(7) },
  });
  await content.close();
});

test("save is deterministic and honours the mtime option", async () => {
  const { content, images } = await fixture();
  const one = await saveToBuffer(content, images);
  const two = await saveToBuffer(content, images);
  assert.ok(one.equals(two));
  const three = await saveToBuffer(content, images, 1_700_000_000);
  assert.ok(!one.equals(three));
  assert.ok((await members(three)).every((m) => m.mtime === 1_700_000_000_000));
  await content.close();
});

test("save then load round trip keeps manifest and config digests and tags", async () => {
  const { content, a, b, c, images } = await fixture();
  const tar = await saveToBuffer(content, images);
  const target = new MemoryContentStore();
  const progress: string[] = [];
  const loaded = await loadArchive({ input: Readable.from([tar]), content: target, onProgress: (m) => progress.push(m) });
  assert.equal(loaded.length, 3);
  const byId = new Map(loaded.map((l) => [l.config, l]));
  assert.deepEqual(byId.get(a.id)?.manifest.digest, a.manifest.digest);
  assert.deepEqual(byId.get(a.id)?.tags.sort(), ["docker.io/library/busybox:latest", "localhost:5000/team/app:v1"]);
  assert.equal(byId.get(b.id)?.manifest.digest, b.manifest.digest);
  assert.deepEqual(byId.get(b.id)?.tags, ["docker.io/library/plain:1"]);
  assert.equal(byId.get(c.id)?.manifest.digest, c.manifest.digest);
  assert.equal(byId.get(c.id)?.manifest.mediaType, MediaTypes.dockerManifest);
  assert.deepEqual(byId.get(c.id)?.tags, []);
  for (const img of [a, b, c]) {
    for (const d of [img.manifest.digest, img.id, ...img.layers.map((l) => l.digest)]) {
      assert.ok(await target.has(d), d);
      assert.ok((await target.readBytes(d, { maxBytes: 1 << 26 })).equals(await content.readBytes(d, { maxBytes: 1 << 26 })));
    }
  }
  assert.ok(progress.some((p) => p.startsWith("Loaded image: ")));
  await assertStoreHonest(target);
  // a gzip-compressed archive loads the same
  const again = await loadArchive({ input: Readable.from([gzipSync(tar)]), content: new MemoryContentStore() });
  assert.deepEqual(again.map((l) => l.manifest.digest).sort(), loaded.map((l) => l.manifest.digest).sort());
  await content.close();
  await target.close();
});

test("the docker-archive half alone loads as a legacy archive with the same image IDs", async () => {
  const { content, a, b, images } = await fixture();
  const tar = await saveToBuffer(content, images.slice(0, 2));
  const kept = new TarBuilder();
  for (const m of await members(tar)) {
    if (m.name === "index.json" || m.name === "oci-layout") continue;
    if (m.type === "directory") kept.dir(m.name);
    else kept.file(m.name, m.data);
  }
  const target = new MemoryContentStore();
  const loaded = await loadArchive({ input: Readable.from([kept.build()]), content: target });
  assert.deepEqual(loaded.map((l) => l.config), [a.id, b.id]);
  assert.deepEqual(loaded[0]!.tags, ["docker.io/library/busybox:latest", "localhost:5000/team/app:v1"]);
  // a is rebuilt as an OCI manifest with uncompressed layers = its diff IDs; b was uncompressed already, so its manifest is identical
  const m = JSON.parse((await target.readBytes(loaded[0]!.manifest.digest)).toString());
  assert.equal(m.mediaType, MediaTypes.ociManifest);
  assert.deepEqual(m.layers.map((l: { digest: string }) => l.digest), a.diffIds);
  assert.ok(m.layers.every((l: { mediaType: string }) => l.mediaType === MediaTypes.ociLayer));
  assert.equal(loaded[1]!.manifest.digest, b.manifest.digest);
  await assertStoreHonest(target);
  await content.close();
});

/** An old-style docker save: <id>/layer.tar, <id>/json, VERSION, <hex>.json config, with a symlinked duplicate layer. */
function legacyArchive(o: { layerTarget?: string; configName?: string; tamperLayer?: boolean } = {}) {
  const l1 = randomLayerTar({ "a/one.txt": "one\n" });
  const l2 = randomLayerTar({ "b/two.txt": "two\n" });
  const diffIds = [digestOf(l1), digestOf(l2), digestOf(l1)];
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: diffIds } }));
  const id = digestOf(config);
  const t = new TarBuilder()
    .dir("aaa").file("aaa/VERSION", "1.0").file("aaa/json", "{}").file("aaa/layer.tar", l1)
    .dir("bbb").file("bbb/VERSION", "1.0").file("bbb/json", "{}").file("bbb/layer.tar", o.tamperLayer ? randomLayerTar({ x: "y" }) : l2)
    .dir("ccc").file("ccc/VERSION", "1.0").file("ccc/json", "{}").symlink("ccc/layer.tar", o.layerTarget ?? "../aaa/layer.tar")
    .file(o.configName ?? `${id.slice(7)}.json`, config)
    .file("repositories", JSON.stringify({ old: { v1: "ccc" } }))
    .file("manifest.json", JSON.stringify([{ Config: o.configName ?? `${id.slice(7)}.json`, RepoTags: ["old:v1", "old:v2"], Layers: ["aaa/layer.tar", "bbb/layer.tar", "ccc/layer.tar"] }]));
  return { tar: t.build(), id, diffIds };
}

test("loads a legacy docker-archive with per-layer directories and symlinked layers", async () => {
  const { tar, id, diffIds } = legacyArchive();
  const target = new MemoryContentStore();
  const [img, ...rest] = await loadArchive({ input: Readable.from([tar]), content: target });
  assert.equal(rest.length, 0);
  assert.equal(img!.config, id);
  assert.deepEqual(img!.tags, ["docker.io/library/old:v1", "docker.io/library/old:v2"]);
  const m = JSON.parse((await target.readBytes(img!.manifest.digest)).toString());
  assert.deepEqual(m.layers.map((l: { digest: Digest }) => l.digest), diffIds);
  assert.equal(digestOf(await target.readBytes(img!.manifest.digest)), img!.manifest.digest);
  await assertStoreHonest(target);
});

test("loads an OCI layout whose index.json points at a multi-platform index", async () => {
  const src = new MemoryContentStore();
  const host = await makeTestImage(src, { layers: 1 });
  const other = await makeTestImage(src, { layers: 1 });
  const idx = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MediaTypes.ociIndex,
    manifests: [
      { ...other.manifest, platform: { architecture: "s390x", os: "linux" } },
      { ...host.manifest, platform: { architecture: process.arch === "x64" ? "amd64" : process.arch, os: "linux" } },
    ],
  }));
  const idxDigest = digestOf(idx);
  const t = new TarBuilder().file("oci-layout", '{"imageLayoutVersion":"1.0.0"}')
    .file("index.json", JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: MediaTypes.ociIndex, digest: idxDigest, size: idx.length, annotations: { "org.opencontainers.image.ref.name": "example.com/multi:1" } }] }))
    .file(`blobs/sha256/${idxDigest.slice(7)}`, idx);
  for (const d of [host.manifest.digest, host.id, ...host.layers.map((l) => l.digest)]) {
    t.file(`blobs/sha256/${d.slice(7)}`, await src.readBytes(d));
  }
  const target = new MemoryContentStore();
  const loaded = await loadArchive({ input: Readable.from([t.build()]), content: target });
  assert.equal(loaded.length, 1);
  assert.equal(loaded[0]!.manifest.digest, host.manifest.digest);
  assert.equal(loaded[0]!.config, host.id);
  assert.deepEqual(loaded[0]!.tags, ["example.com/multi:1"]);
  await src.close();
});

test("load honours an AbortSignal", async () => {
  const { content, images } = await fixture();
  const tar = await saveToBuffer(content, images);
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(loadArchive({ input: Readable.from([tar]), content: new MemoryContentStore(), signal: ac.signal }), (e) => kindOf(e) === "cancelled");
  await content.close();
});

test("hostile and broken archives fail with a clear kind and leave no wrong blob", async (t) => {
  const good = legacyArchive();
  const blob = Buffer.from("hello");
  const wrongName = `blobs/sha256/${digestOf("other").slice(7)}`;
  // a valid one-layer config, so that the cases below fail on the layer path, not on the config
  const cfg = JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [digestOf("x")] } });
  const cases: { name: string; tar: Buffer; kind: string; msg?: RegExp }[] = [
    { name: "absolute member name", tar: new TarBuilder().file("/etc/passwd", "x").file("manifest.json", "[]").build(), kind: "invalid-parameter" },
    { name: "dot-dot member name", tar: new TarBuilder().file("../evil", "x").build(), kind: "invalid-parameter" },
    { name: "manifest.json Layers outside the archive", tar: new TarBuilder().file("c.json", cfg).file("manifest.json", JSON.stringify([{ Config: "c.json", RepoTags: ["x:y"], Layers: ["../../etc/passwd"] }])).build(), kind: "invalid-parameter", msg: /outside the archive/ },
    { name: "manifest.json Config absolute", tar: new TarBuilder().file("manifest.json", JSON.stringify([{ Config: "/etc/passwd", RepoTags: null, Layers: [] }])).build(), kind: "invalid-parameter" },
    { name: "symlinked layer escaping the archive", tar: legacyArchive({ layerTarget: "../../../etc/passwd" }).tar, kind: "invalid-parameter" },
    { name: "symlinked layer to an absolute path", tar: legacyArchive({ layerTarget: "/etc/passwd" }).tar, kind: "invalid-parameter" },
    { name: "hard link escaping the archive", tar: new TarBuilder().file("c.json", cfg).hardlink("l/layer.tar", "../../etc/passwd").file("manifest.json", JSON.stringify([{ Config: "c.json", RepoTags: null, Layers: ["l/layer.tar"] }])).build(), kind: "invalid-parameter", msg: /outside the archive/ },
    { name: "symlink loop", tar: new TarBuilder().file("c.json", cfg).symlink("a", "b").symlink("b", "a").file("manifest.json", JSON.stringify([{ Config: "c.json", RepoTags: null, Layers: ["a"] }])).build(), kind: "invalid-parameter", msg: /too many links/ },
    { name: "layer that does not match the config's diff ID", tar: legacyArchive({ tamperLayer: true }).tar, kind: "data-loss" },
    { name: "config that does not match its name", tar: legacyArchive({ configName: `${"0".repeat(64)}.json` }).tar, kind: "data-loss" },
    { name: "blob under a wrong digest", tar: new TarBuilder().file(wrongName, blob).file("index.json", '{"schemaVersion":2,"manifests":[]}').build(), kind: "data-loss" },
    { name: "missing referenced file", tar: new TarBuilder().file("manifest.json", JSON.stringify([{ Config: "nope.json", RepoTags: null, Layers: [] }])).build(), kind: "invalid-parameter" },
    { name: "invalid RepoTag", tar: legacyArchive().tar.toString("latin1").includes("old:v1") ? Buffer.from(legacyArchive().tar.toString("latin1").replace('"old:v1"', '"OLD:v1"'), "latin1") : good.tar, kind: "invalid-parameter" },
    { name: "truncated tar", tar: new TarBuilder().file("manifest.json", "[]").file("big", Buffer.alloc(4096, 1)).buildTruncated(1000), kind: "data-loss" },
    { name: "corrupt gzip", tar: (() => { const z = gzipSync(good.tar); z.fill(7, 40, 200); return z; })(), kind: "invalid-parameter" },
    { name: "truncated gzip", tar: gzipSync(good.tar).subarray(0, 300), kind: "data-loss" },
    { name: "bzip2 is refused", tar: Buffer.concat([Buffer.from("BZh91AY&SY"), Buffer.alloc(100)]), kind: "invalid-parameter" },
    { name: "not a tar at all", tar: Buffer.from("hello, this is not an archive".repeat(40)), kind: "invalid-parameter" },
    { name: "neither manifest.json nor index.json", tar: new TarBuilder().file("x", "y").build(), kind: "invalid-parameter" },
    { name: "index.json with no images", tar: new TarBuilder().file("index.json", '{"schemaVersion":2,"manifests":[]}').build(), kind: "invalid-parameter" },
    { name: "manifest.json that is not JSON", tar: new TarBuilder().file("manifest.json", "[{").build(), kind: "invalid-parameter" },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      const target = new MemoryContentStore();
      let result: unknown;
      await assert.rejects(
        (async () => { result = await loadArchive({ input: Readable.from([c.tar]), content: target }); })(),
        (e) => {
          assert.equal(kindOf(e), c.kind, `${(e as Error).message}`);
          if (c.msg) assert.match((e as Error).message, c.msg);
          return true;
        },
      );
      assert.equal(result, undefined, "nothing returned, so nothing gets tagged");
      await assertStoreHonest(target);
      assert.equal(await target.has(`sha256:${wrongName.slice(13)}` as Digest), false);
      assert.equal(target.openWriters, 0, "no writer left open");
    });
  }
});
