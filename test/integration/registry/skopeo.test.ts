import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { digestHex } from "../../../src/core/index.ts";
import { RegistryClient, pullImage, pushImage } from "../../../src/registry/index.ts";
import { startRegistry } from "../../../src/testing/registry-server.ts";
import { requires } from "../../../src/testing/requires.ts";
import { makeImage, tempStore } from "./helpers.ts";

const exec = promisify(execFile);
const gate = { skip: requires("registry", "skopeo") };

test("skopeo reads what we push, and we pull what skopeo pushes, with equal digests", gate, async () => {
  const reg = await startRegistry();
  const src = await tempStore();
  const dst = await tempStore();
  const layout = await mkdtemp(join(tmpdir(), "berth-oci-layout-"));
  const client = new RegistryClient({ config: { mirrors: {}, insecure: [] } });
  try {
    // Ours → skopeo.
    const ours = await makeImage(src.store, { layerSizes: [10_000, 20_000], gzip: true });
    await pushImage({ client, ref: { domain: reg.host, path: "interop/ours", tag: "v1" }, store: src.store, manifest: ours.manifest });
    const { stdout } = await exec("skopeo", ["inspect", "--tls-verify=false", `docker://${reg.host}/interop/ours:v1`]);
    const inspected = JSON.parse(stdout) as { Digest: string; Layers: string[]; Architecture: string };
    assert.equal(inspected.Digest, ours.manifest.digest);
    assert.deepEqual(inspected.Layers, ours.layers.map((l) => l.digest));
    assert.equal(inspected.Architecture, "amd64");

    // skopeo (from an OCI layout we write by hand) → ours.
    const theirs = await makeImage(src.store, { layerSizes: [30_000], gzip: true });
    await mkdir(join(layout, "blobs", "sha256"), { recursive: true });
    for (const d of [theirs.manifest, theirs.config, ...theirs.layers])
      await copyFile(await src.store.path(d.digest), join(layout, "blobs", "sha256", digestHex(d.digest)));
    await writeFile(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    await writeFile(
      join(layout, "index.json"),
      JSON.stringify({ schemaVersion: 2, manifests: [{ ...theirs.manifest, annotations: { "org.opencontainers.image.ref.name": "v2" } }] }),
    );
    await exec("skopeo", ["--insecure-policy", "copy", "--dest-tls-verify=false", `oci:${layout}:v2`, `docker://${reg.host}/interop/theirs:v2`]);
    const got = await pullImage({ client, ref: { domain: reg.host, path: "interop/theirs", tag: "v2" }, store: dst.store });
    assert.equal(got.manifest.digest, theirs.manifest.digest);
    assert.equal(got.config.digest, theirs.config.digest);
    assert.deepEqual(got.layers.map((l) => l.digest), theirs.layers.map((l) => l.digest));
  } finally {
    await client.close();
    await reg.stop();
    await src.dispose();
    await dst.dispose();
    await rm(layout, { recursive: true, force: true });
  }
});
