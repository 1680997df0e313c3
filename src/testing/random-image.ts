/**
 * Random images for archive tests (ggcr pkg/v1/random): layers with a few
 * files, a config whose diff_ids match, a manifest, all put into a content store.
 */
import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import type { ContentStore } from "../content/content-store.ts";
import { digestOf, type Descriptor, type Digest } from "../core/index.ts";
import { MediaTypes } from "../oci/index.ts";
import { TarBuilder } from "./tar-builder.ts";
import { hostPlatform } from "../archive/formats.ts";

export interface TestImage {
  readonly id: Digest;
  readonly manifest: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly diffIds: readonly Digest[];
  /** Files by layer: path → content. */
  readonly files: readonly Record<string, string>[];
}

export function randomLayerTar(files: Record<string, string>): Buffer {
  const b = new TarBuilder();
  const dirs = new Set<string>();
  for (const p of Object.keys(files)) {
    const parts = p.split("/");
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  }
  for (const d of [...dirs].sort()) b.dir(d);
  for (const [p, c] of Object.entries(files)) b.file(p, c);
  return b.build();
}

/**
 * Makes an image of `layers` random layers (or the given tars) and stores it.
 * `compression` "gzip" stores layers gzip-compressed (as pulled), "none" as plain tars.
 */
export async function makeTestImage(
  content: ContentStore,
  o: { layers?: number; compression?: "gzip" | "none"; tars?: readonly Buffer[]; docker?: boolean } = {},
): Promise<TestImage> {
  const files: Record<string, string>[] = [];
  const tars: Buffer[] = [...(o.tars ?? [])];
  for (let i = tars.length; i < (o.layers ?? 2); i++) {
    const f = { [`data/layer${i}.txt`]: `layer ${i} ${randomBytes(8).toString("hex")}\n`, [`etc/r${i}`]: randomBytes(300).toString("base64") };
    files.push(f);
    tars.push(randomLayerTar(f));
  }
  const gz = (o.compression ?? "gzip") === "gzip";
  const layers: Descriptor[] = [];
  const diffIds: Digest[] = [];
  for (const t of tars) {
    diffIds.push(digestOf(t));
    const bytes = gz ? gzipSync(t) : t;
    const info = await content.put(bytes);
    const mediaType = o.docker === true ? MediaTypes.dockerLayerGzip : gz ? MediaTypes.ociLayerGzip : MediaTypes.ociLayer;
    layers.push({ mediaType, digest: info.digest, size: info.size });
  }
  const p = hostPlatform();
  const config = Buffer.from(
    JSON.stringify({
      architecture: p.architecture,
      os: p.os,
      config: { Env: ["PATH=/usr/bin:/bin"], Cmd: ["/bin/sh"], Labels: { nonce: randomBytes(4).toString("hex") } },
      rootfs: { type: "layers", diff_ids: diffIds },
      history: diffIds.map(() => ({ created_by: "test" })),
    }),
  );
  const cfg = await content.put(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: o.docker === true ? MediaTypes.dockerManifest : MediaTypes.ociManifest,
      config: { mediaType: o.docker === true ? MediaTypes.dockerConfig : MediaTypes.ociConfig, digest: cfg.digest, size: cfg.size },
      layers,
    }),
  );
  const m = await content.put(manifest);
  return {
    id: cfg.digest,
    manifest: { mediaType: o.docker === true ? MediaTypes.dockerManifest : MediaTypes.ociManifest, digest: m.digest, size: m.size },
    layers,
    diffIds,
    files,
  };
}
