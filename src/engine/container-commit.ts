/**
 * `commit`: a new image from a container's changes (moby
 * daemon/commit.go): the container's image plus one layer, the diff of the
 * container's upper dir (overlay whiteouts → OCI whiteouts), with the
 * container's config (Cmd, Entrypoint, Env, ... as the container has them)
 * and `--change` lines applied, and a history entry. A running container is
 * paused for the duration unless `pause: false`.
 *
 * Written like import: the layer blob under a lease, then config, manifest,
 * image record and tag in one transaction, so a failure leaves no image.
 */
import { join } from "node:path";
import type { Readable } from "node:stream";
import type { Digest } from "../core/index.ts";
import { invalidParameter, notFound, throwIfAborted, isEngineError } from "../core/index.ts";
import { compress, diffDirectory, DigestingStream } from "../layers/index.ts";
import { MediaTypes, type ContainerConfig, type ImageConfig, type ImageManifest } from "../oci/index.ts";
import { normalizeReference, referenceString } from "../oci/reference.ts";
import type { EngineContext } from "./context.ts";
import { containerDir, findContainer, updateState, type ContainerRecord } from "./container-record.ts";
import { refreshContainer } from "./container-refresh.ts";
import { initLayerPaths } from "./container-diff.ts";
import { applyChanges } from "./image-changes.ts";
import { loadImageView, recordLayerSize } from "./image-view.ts";
import { acquireLease } from "./lease.ts";
import { containerServices } from "./services.ts";

export interface ContainerCommitOptions {
  readonly container: string;
  /** REPOSITORY[:TAG]; none leaves the image untagged. */
  readonly reference?: string;
  readonly author?: string;
  readonly message?: string;
  /** Dockerfile instructions (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR, STOPSIGNAL). */
  readonly changes?: readonly string[];
  /** Pause a running container during the commit (default true). */
  readonly pause?: boolean;
  readonly signal?: AbortSignal;
}

export interface ContainerCommitReport {
  readonly id: Digest;
  readonly tag?: string;
}

/** The image config a container runs with, as docker's commit records it. */
export function committedConfig(rec: ContainerRecord): ContainerConfig {
  const c = rec.config;
  const base = c.Berth.imageConfig;
  const out: Record<string, unknown> = { ...base };
  const set = (k: string, v: unknown, keep: boolean) => {
    if (keep) out[k] = v;
    else delete out[k];
  };
  set("User", c.User, c.User !== "");
  set("ExposedPorts", c.ExposedPorts, Object.keys(c.ExposedPorts).length > 0);
  set("Env", c.Env, c.Env.length > 0);
  set("Cmd", c.Cmd, c.Cmd !== null);
  set("Entrypoint", c.Entrypoint, c.Entrypoint !== null);
  set("Volumes", c.Volumes, c.Volumes !== null && Object.keys(c.Volumes).length > 0);
  set("WorkingDir", c.WorkingDir, c.WorkingDir !== "");
  set("Labels", c.Labels, Object.keys(c.Labels).length > 0);
  set("StopSignal", c.StopSignal, c.StopSignal !== "" && (c.StopSignal !== "SIGTERM" || base.StopSignal !== undefined));
  return out as ContainerConfig;
}

async function writeLayer(ctx: EngineContext, upper: string, signal: AbortSignal | undefined, exclude: readonly string[]): Promise<{ digest: Digest; size: number; diffId: Digest; diffSize: number }> {
  const sig = signal === undefined ? {} : { signal };
  const skip = new Set(exclude.map((p) => p.replace(/^\/+/, "").replace(/\/+$/, "")));
  const tar = diffDirectory(upper, { ...sig, filter: (rel) => !skip.has(rel) });
  const hash = new DigestingStream();
  tar.on("error", (e) => hash.destroy(e));
  const gz = compress(tar.pipe(hash), "gzip");
  await using writer = await ctx.content.writer(sig);
  for await (const chunk of gz as Readable) await writer.write(chunk as Uint8Array);
  const blob = await writer.commit();
  return { digest: blob.digest, size: blob.size, diffId: await hash.digest, diffSize: await hash.size };
}

/**
 * @throws not-found for the container or its image (removed since);
 *   invalid-parameter for a bad reference or --change line; conflict when pausing fails
 */
export async function containerCommit(ctx: EngineContext, o: ContainerCommitOptions): Promise<ContainerCommitReport> {
  const ref = o.reference === undefined || o.reference === "" ? undefined : normalizeReference(o.reference);
  if (ref?.digest !== undefined) throw invalidParameter("refusing to create a tag with a digest reference");
  const rec = await refreshContainer(ctx, findContainer(ctx, o.container));
  const config = applyChanges(committedConfig(rec), o.changes ?? []);
  let base;
  try {
    base = await loadImageView(ctx, rec.imageId as Digest, o.signal === undefined ? {} : { signal: o.signal });
  } catch (e) {
    if (isEngineError(e) && e.kind === "not-found") throw notFound(`the image of container ${rec.name} (${rec.imageId}) no longer exists`, { cause: e });
    throw e;
  }
  throwIfAborted(o.signal);
  using _lease = acquireLease(ctx);
  let paused = false;
  if (o.pause !== false && rec.state.Status === "running") {
    const svc = await containerServices(ctx);
    await svc.runtime.pause(rec.id);
    paused = true;
    updateState(ctx, rec.id, (s) => (s.Status === "running" ? { ...s, Status: "paused", Paused: true } : s));
  }
  let layer;
  try {
    layer = await writeLayer(ctx, join(containerDir(ctx, rec.id), "upper"), o.signal, initLayerPaths(rec));
  } finally {
    if (paused) {
      const svc = await containerServices(ctx);
      await svc.runtime.resume(rec.id).catch(() => undefined);
      updateState(ctx, rec.id, (s) => (s.Status === "paused" ? { ...s, Status: "running", Paused: false } : s));
    }
  }
  const created = ctx.now().toISOString();
  const cmd = rec.config.Cmd ?? [];
  const history = [...(base.config.history ?? [])];
  history.push({
    created,
    ...(o.author === undefined || o.author === "" ? {} : { author: o.author }),
    created_by: cmd.join(" "),
    ...(o.message === undefined || o.message === "" ? {} : { comment: o.message }),
  });
  const imageConfig: ImageConfig = {
    ...base.config,
    created,
    config,
    rootfs: { type: "layers", diff_ids: [...base.config.rootfs.diff_ids, layer.diffId] },
    history,
    ...(o.author === undefined || o.author === "" ? {} : { author: o.author }),
  };
  const rest = imageConfig as unknown as Record<string, unknown>;
  if (o.author === undefined || o.author === "") delete rest["author"];
  if (o.message !== undefined && o.message !== "") rest["comment"] = o.message;
  else delete rest["comment"];
  rest["container"] = rec.id;
  const configBlob = await ctx.content.put(Buffer.from(JSON.stringify(imageConfig)));
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: { mediaType: MediaTypes.ociConfig, digest: configBlob.digest, size: configBlob.size },
    layers: [...base.manifest.layers, { mediaType: MediaTypes.ociLayerGzip, digest: layer.digest, size: layer.size }],
  };
  const manifestBlob = await ctx.content.put(Buffer.from(JSON.stringify(manifest)));
  throwIfAborted(o.signal);
  const id = configBlob.digest;
  const tag = ref === undefined ? undefined : referenceString(ref);
  ctx.db.transaction(() => {
    recordLayerSize(ctx, layer.diffId, layer.diffSize);
    ctx.images.put({ id, target: { mediaType: MediaTypes.ociManifest, digest: manifestBlob.digest, size: manifestBlob.size } });
    if (tag !== undefined) ctx.images.tag(tag, id);
  });
  return tag === undefined ? { id } : { id, tag };
}
