/**
 * berth's archives against skopeo and umoci, both ways:
 * - what berth saves, skopeo reads as docker-archive and as oci-archive (same
 *   digests and layers), copies to an OCI layout, and umoci unpacks;
 * - what umoci builds and skopeo exports (docker-archive and oci-archive),
 *   berth loads with the digests skopeo reports.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { extract } from "tar-stream";
import { loadArchive, saveArchive } from "../../../src/archive/index.ts";
import { makeTestImage } from "../../../src/testing/random-image.ts";
import { LocalContentStore } from "../../../src/content/local-content-store.ts";
import { digestOf, kindOf, type Digest } from "../../../src/core/index.ts";
import { requires } from "../../../src/testing/index.ts";
import { TarBuilder } from "../../../src/testing/tar-builder.ts";

const run = promisify(execFile);
const tools = requires("skopeo", "umoci");
const asRoot = tools || requires("root");

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "berth-archive-it-"));
  dirs.push(d);
  return d;
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function sh(cmd: string, args: string[], cwd?: string): Promise<string> {
  const { stdout } = await run(cmd, args, { cwd, timeout: 60_000, maxBuffer: 64 << 20 });
  return stdout;
}
const skopeo = (...args: string[]) => sh("skopeo", ["--insecure-policy", ...args]);

/** The files in one layer tar (uncompressed or gzip) in a content store. */
async function layerFiles(content: LocalContentStore, d: Digest): Promise<Map<string, string>> {
  const { decompressAuto } = await import("../../../src/archive/compression.ts");
  const ex = extract();
  Readable.from(decompressAuto(await content.openRead(d), "layer")).pipe(ex);
  const out = new Map<string, string>();
  for await (const e of ex) {
    const chunks: Buffer[] = [];
    for await (const c of e) chunks.push(c as Buffer);
    out.set(e.header.name.replace(/^\.\//, ""), Buffer.concat(chunks).toString());
  }
  return out;
}

async function fixture() {
  const dir = await tempDir();
  const content = await LocalContentStore.open(join(dir, "content"));
  const a = await makeTestImage(content, { layers: 2, compression: "gzip" });
  const b = await makeTestImage(content, { layers: 1, compression: "none" });
  const file = join(dir, "saved.tar");
  await saveArchive({
    content,
    out: createWriteStream(file),
    images: [
      { id: a.id, manifest: a.manifest, tags: ["busybox:latest", "example.com/team/app:v2"] },
      { id: b.id, manifest: b.manifest, tags: ["plain:1"] },
    ],
  });
  return { dir, content, a, b, file };
}

test("skopeo reads what berth saves, as docker-archive and as oci-archive", { skip: tools }, async () => {
  const { a, b, file } = await fixture();
  // docker-archive: skopeo shows the uncompressed layers, i.e. the diff IDs, and the config as saved
  const dInspect = JSON.parse(await skopeo("inspect", `docker-archive:${file}:busybox:latest`));
  assert.deepEqual(dInspect.Layers, a.diffIds);
  assert.equal(digestOf(Buffer.from(await skopeo("inspect", "--raw", "--config", `docker-archive:${file}:busybox:latest`))), a.id);
  const dPlain = JSON.parse(await skopeo("inspect", `docker-archive:${file}:plain:1`));
  assert.deepEqual(dPlain.Layers, b.diffIds);
  // oci-archive: the very manifest berth stored, with its compressed layers
  const oInspect = JSON.parse(await skopeo("inspect", `oci-archive:${file}:latest`));
  assert.equal(oInspect.Digest, a.manifest.digest);
  assert.deepEqual(oInspect.Layers, a.layers.map((l) => l.digest));
  assert.equal(digestOf(Buffer.from(await skopeo("inspect", "--raw", `oci-archive:${file}:v2`))), a.manifest.digest);
  assert.equal(digestOf(Buffer.from(await skopeo("inspect", "--raw", "--config", `oci-archive:${file}:1`))), b.id);
});

test("skopeo copies a berth docker-archive to an OCI layout that umoci unpacks", { skip: asRoot }, async () => {
  const { dir, a, b, file } = await fixture();
  const layout = join(dir, "layout");
  await skopeo("copy", `docker-archive:${file}:busybox:latest`, `oci:${layout}:copied`);
  const bundle = join(dir, "bundle");
  await sh("umoci", ["unpack", "--image", `${layout}:copied`, bundle]);
  for (const files of a.files) {
    for (const [p, c] of Object.entries(files)) assert.equal(await readFile(join(bundle, "rootfs", p), "utf8"), c);
  }
  // and the saved tar is itself an OCI layout umoci can unpack directly
  const extracted = join(dir, "extracted");
  await sh("mkdir", ["-p", extracted]);
  await sh("tar", ["-xf", file, "-C", extracted]);
  const bundle2 = join(dir, "bundle2");
  await sh("umoci", ["unpack", "--image", `${extracted}:1`, bundle2]);
  for (const [p, c] of Object.entries(b.files[0]!)) assert.equal(await readFile(join(bundle2, "rootfs", p), "utf8"), c);
});

test("berth loads umoci-built images exported by skopeo as docker-archive and oci-archive", { skip: asRoot }, async () => {
  const dir = await tempDir();
  const layout = join(dir, "L");
  const bundle = join(dir, "B");
  await sh("umoci", ["init", "--layout", layout]);
  await sh("umoci", ["new", "--image", `${layout}:t`]);
  await sh("umoci", ["unpack", "--image", `${layout}:t`, bundle]);
  await writeFile(join(bundle, "rootfs", "hello.txt"), "hello from umoci\n");
  await sh("umoci", ["repack", "--image", `${layout}:t`, bundle]);
  const dockerTar = join(dir, "d.tar");
  const ociTar = join(dir, "o.tar");
  await skopeo("copy", `oci:${layout}:t`, `docker-archive:${dockerTar}:x:t`);
  await skopeo("copy", `oci:${layout}:t`, `oci-archive:${ociTar}:x:t`);

  const content = await LocalContentStore.open(join(dir, "content"));
  // oci-archive keeps the manifest: same manifest and config digests as skopeo reports
  const [o, ...orest] = await loadArchive({ input: createReadStream(ociTar), content });
  assert.equal(orest.length, 0);
  assert.equal(o!.manifest.digest, digestOf(Buffer.from(await skopeo("inspect", "--raw", `oci-archive:${ociTar}:x:t`))));
  assert.equal(o!.config, digestOf(Buffer.from(await skopeo("inspect", "--raw", "--config", `oci-archive:${ociTar}:x:t`))));
  assert.deepEqual(o!.tags, ["docker.io/library/x:t"]);
  // docker-archive keeps the config (the image ID); the manifest is berth's own
  const [d, ...drest] = await loadArchive({ input: createReadStream(dockerTar), content });
  assert.equal(drest.length, 0);
  assert.equal(d!.config, digestOf(Buffer.from(await skopeo("inspect", "--raw", "--config", `docker-archive:${dockerTar}`))));
  assert.equal(d!.config, o!.config);
  assert.deepEqual(d!.tags, ["docker.io/library/x:t"]);
  const dInspect = JSON.parse(await skopeo("inspect", `docker-archive:${dockerTar}`));
  const m = JSON.parse((await content.readBytes(d!.manifest.digest)).toString());
  assert.deepEqual(m.layers.map((l: { digest: string }) => l.digest), dInspect.Layers);
  // the file written into the bundle is in the loaded image's top layer
  const top = m.layers.at(-1).digest as Digest;
  assert.equal((await layerFiles(content, top)).get("hello.txt"), "hello from umoci\n");
  // a plain OCI layout (umoci's directory, tarred): index.json's ref.name is only "t", so no name to tag
  const plainTar = join(dir, "plain.tar");
  await sh("tar", ["-cf", plainTar, "-C", layout, "."]);
  const [p, ...prest] = await loadArchive({ input: createReadStream(plainTar), content });
  assert.equal(prest.length, 0);
  const umociIndex = JSON.parse(await readFile(join(layout, "index.json"), "utf8"));
  assert.equal(p!.manifest.digest, umociIndex.manifests[0].digest);
  assert.equal(p!.manifest.digest, o!.manifest.digest);
  assert.deepEqual(p!.tags, []);
  const om = JSON.parse((await content.readBytes(o!.manifest.digest)).toString());
  assert.equal((await layerFiles(content, om.layers.at(-1).digest)).get("hello.txt"), "hello from umoci\n");
});

test("hostile archives leave a local content store honest and free of temp files", { skip: tools }, async () => {
  const dir = await tempDir();
  const content = await LocalContentStore.open(join(dir, "content"));
  const good = await fixture();
  const saved = await readFile(good.file);
  const wrong = `blobs/sha256/${digestOf("something else").slice(7)}`;
  const cases: { name: string; tar: Buffer; kind: string }[] = [
    { name: "a blob whose bytes do not match its name", tar: new TarBuilder().file(wrong, "hello").build(), kind: "data-loss" },
    { name: "a symlinked layer out of the archive", tar: new TarBuilder().file("c.json", "{}").symlink("l/layer.tar", "../../../etc/passwd").file("manifest.json", JSON.stringify([{ Config: "c.json", RepoTags: ["x:y"], Layers: ["l/layer.tar"] }])).build(), kind: "invalid-parameter" },
    { name: "a member named ../evil", tar: new TarBuilder().file("../evil", "x").build(), kind: "invalid-parameter" },
    { name: "a truncated berth archive", tar: saved.subarray(0, saved.length - 2048 - 700), kind: "data-loss" },
  ];
  for (const c of cases) {
    await assert.rejects(loadArchive({ input: Readable.from([c.tar]), content }), (e) => kindOf(e) === c.kind, c.name);
  }
  for await (const b of content.walk()) {
    assert.equal(digestOf(Buffer.concat(await (await content.openRead(b.digest)).toArray())), b.digest);
  }
  assert.equal(await content.has(`sha256:${wrong.slice(13)}` as Digest), false);
  assert.deepEqual(await readdir(join(dir, "content", "tmp")), []);
});
