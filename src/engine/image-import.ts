/**
 * `import`: a root filesystem tarball becomes a one-layer image (moby
 * daemon/images/image_import.go). The tar is checked member by member while it
 * is unpacked into a scratch directory (no `..`, no absolute paths, nothing
 * written through a symlink, no hardlink or device out of bounds); at the same
 * time it is gzip-compressed into the content store. Only when both succeed
 * are the config, manifest and tag recorded, so a bad tarball adds nothing.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import type { Digest } from "../core/index.ts";
import { invalidParameter, tee, throwIfAborted } from "../core/index.ts";
import { applyLayer, compress, decompress } from "../layers/index.ts";
import { MediaTypes, type ImageConfig, type ImageManifest } from "../oci/index.ts";
import { normalizeReference, referenceString } from "../oci/reference.ts";
import type { EngineContext } from "./context.ts";
import { applyChanges } from "./image-changes.ts";
import { recordLayerSize } from "./image-view.ts";
import { acquireLease } from "./lease.ts";

export interface ImageImportOptions {
  readonly source: Readable;
  /** "-" for stdin, a URL or a file path: shown in the image's history. */
  readonly sourceName: string;
  readonly reference?: string;
  readonly changes?: readonly string[];
  readonly message?: string;
  readonly platform?: { os: string; architecture: string; variant?: string };
  readonly signal?: AbortSignal;
}

export interface ImageImportReport {
  readonly id: Digest;
  readonly tag?: string;
}

export async function imageImport(ctx: EngineContext, o: ImageImportOptions): Promise<ImageImportReport> {
  const ref = o.reference === undefined || o.reference === "" ? undefined : normalizeReference(o.reference);
  if (ref?.digest !== undefined) throw invalidParameter("refusing to create a tag with a digest reference");
  const baseConfig = applyChanges({}, o.changes ?? []);
  throwIfAborted(o.signal);
  using _lease = acquireLease(ctx);
  await mkdir(join(ctx.content.root, "tmp"), { recursive: true });
  const scratch = await mkdtemp(join(ctx.content.root, "tmp", "import-"));
  try {
    const signalOpt = o.signal === undefined ? {} : { signal: o.signal };
    const [forApply, forStore] = tee(decompress(o.source, signalOpt));
    const applied = applyLayer(forApply, scratch, { ...signalOpt, mode: "import" });
    // The compressed layer is written beside the unpacking, but committed only
    // once the tar has passed every check: a hostile tar leaves no blob behind.
    await using writer = await ctx.content.writer(signalOpt);
    const written = (async () => {
      for await (const chunk of compress(forStore, "gzip")) await writer.write(chunk as Uint8Array);
    })();
    const [a, w] = await Promise.allSettled([applied, written]);
    if (a.status === "rejected") {
      forStore.destroy();
      throw a.reason;
    }
    if (w.status === "rejected") throw w.reason;
    const blob = await writer.commit();
    const { diffId, size } = a.value;
    const created = (ctx.config.sourceDateEpoch ?? ctx.now()).toISOString();
    const platform = o.platform ?? ctx.platform;
    const comment = o.message !== undefined && o.message !== "" ? o.message : `Imported from ${o.sourceName}`;
    const config: ImageConfig = {
      created,
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant === undefined ? {} : { variant: platform.variant }),
      config: baseConfig,
      rootfs: { type: "layers", diff_ids: [diffId] },
      history: [{ created, created_by: "", comment }],
      ...(o.message === undefined || o.message === "" ? {} : { comment: o.message }),
    };
    const configBytes = Buffer.from(JSON.stringify(config));
    const configBlob = await ctx.content.put(configBytes);
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: { mediaType: MediaTypes.ociConfig, digest: configBlob.digest, size: configBlob.size },
      layers: [{ mediaType: MediaTypes.ociLayerGzip, digest: blob.digest, size: blob.size }],
    };
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    const manifestBlob = await ctx.content.put(manifestBytes);
    throwIfAborted(o.signal);
    const id = configBlob.digest;
    const tag = ref === undefined ? undefined : referenceString(ref);
    ctx.db.transaction(() => {
      recordLayerSize(ctx, diffId, size);
      ctx.images.put({ id, target: { mediaType: MediaTypes.ociManifest, digest: manifestBlob.digest, size: manifestBlob.size } });
      if (tag !== undefined) ctx.images.tag(tag, id);
    });
    return tag === undefined ? { id } : { id, tag };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
