/** Random images built in code (ggcr `random`), for registry tests. */
import { TarBuilder } from "../../../src/testing/tar-builder.ts";
import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ContentStore } from "../../../src/content/content-store.ts";
import { LocalContentStore } from "../../../src/content/local-content-store.ts";
import { digestOf, type Descriptor, type PlatformSpec } from "../../../src/core/index.ts";
import { MediaTypes } from "../../../src/oci/index.ts";

export interface TestImage {
  readonly manifest: Descriptor;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
}

/** Writes random layers (not real tars: registries do not look inside), a config and a manifest into `store`. */
export async function makeImage(
  store: ContentStore,
  o: { layerSizes: readonly number[]; platform?: PlatformSpec; docker?: boolean; gzip?: boolean } = { layerSizes: [1024] },
): Promise<TestImage> {
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  // Real layers (a tar holding one file of random bytes), so that a pull can unpack them.
  for (const [i, size] of o.layerSizes.entries()) {
    const tar = new TarBuilder().file(`layer-${i}.bin`, randomBytes(size)).build();
    const data = o.gzip ? gzipSync(tar) : tar;
    const info = await store.put(data);
    layers.push({ mediaType: o.docker ? MediaTypes.dockerLayerGzip : MediaTypes.ociLayerGzip, digest: info.digest, size: info.size });
    diffIds.push(digestOf(tar));
  }
  const platform = o.platform ?? { os: "linux", architecture: "amd64" };
  const cfg = Buffer.from(
    JSON.stringify({
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      config: { Cmd: ["/bin/sh"], Labels: { nonce: randomBytes(8).toString("hex") } },
      rootfs: { type: "layers", diff_ids: diffIds },
    }),
  );
  const cinfo = await store.put(cfg);
  const config: Descriptor = { mediaType: o.docker ? MediaTypes.dockerConfig : MediaTypes.ociConfig, digest: cinfo.digest, size: cinfo.size };
  const mt = o.docker ? MediaTypes.dockerManifest : MediaTypes.ociManifest;
  const raw = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: mt, config, layers }));
  const minfo = await store.put(raw);
  return { manifest: { mediaType: mt, digest: minfo.digest, size: minfo.size }, config, layers };
}

/** An OCI index over images already in the store. */
export async function makeIndex(store: ContentStore, images: readonly { image: TestImage; platform: PlatformSpec }[]): Promise<Descriptor> {
  const raw = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociIndex,
      manifests: images.map(({ image, platform }) => ({ ...image.manifest, platform })),
    }),
  );
  const info = await store.put(raw);
  return { mediaType: MediaTypes.ociIndex, digest: info.digest, size: info.size };
}

/** A LocalContentStore in a temp dir; `dispose` removes it. */
export async function tempStore(): Promise<{ store: LocalContentStore; dispose: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "berth-regtest-"));
  const store = await LocalContentStore.open(dir);
  return { store, dispose: () => rm(dir, { recursive: true, force: true }) };
}

/** Every blob in the store re-hashed: true when each file's content matches its name. */
export async function storeIsConsistent(store: ContentStore): Promise<boolean> {
  for await (const b of store.walk()) {
    const data = await store.readBytes(b.digest, { maxBytes: 1 << 30 });
    if (digestOf(data) !== b.digest) return false;
  }
  return true;
}
