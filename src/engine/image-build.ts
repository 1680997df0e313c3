/**
 * `build`: a Dockerfile and a context → an image in the store (issue 4).
 *
 * Flow: open the context (directory or tar; .dockerignore) → parse the
 * Dockerfile → the builder (src/build/builder.ts) solves the target stage,
 * reusing the build cache → the config and manifest are written and the image
 * recorded and tagged in one transaction (as image-import does), under a
 * lease so that GC cannot take the new blobs meanwhile. A failure tags
 * nothing. Progress is reported as BuildKit-like events (src/build/progress.ts).
 *
 * FROM names an image or `scratch`: the local store is asked first, and a
 * missing image is pulled (with --pull, always pulled), as docker build does.
 *
 * Reproducible by default: created times are SOURCE_DATE_EPOCH when set, else
 * the base image's created time (the Unix epoch for scratch), and layer
 * mtimes are clamped to the same time; so the same context and base give the
 * same image ID. (BuildKit uses the current time unless SOURCE_DATE_EPOCH is
 * set; berth chooses reproducibility.)
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { finished } from "node:stream/promises";
import { BuildCache, cacheMaxBytes } from "../build/cache.ts";
import { openContext } from "../build/context.ts";
import { Builder, type BaseImage, type StepReport } from "../build/builder.ts";
import type { BuildEvent } from "../build/progress.ts";
import type { Digest } from "../core/index.ts";
import { invalidParameter, isEngineError, kindOf, systemError, throwIfAborted } from "../core/index.ts";
import { applyLayer, decompress } from "../layers/index.ts";
import type { CniNetworkBackend } from "../network/index.ts";
import { MediaTypes, type ImageManifest } from "../oci/index.ts";
import { familiarString, normalizeReference, referenceString } from "../oci/reference.ts";
import { OverlaySnapshotter } from "../snapshots/index.ts";
import type { EngineContext } from "./context.ts";
import { findImage } from "./image-resolve.ts";
import { loadImageView, recordLayerSize } from "./image-view.ts";
import { acquireLease } from "./lease.ts";

export interface ImageBuildOptions {
  /** The context directory; or give `contextTar`. */
  readonly contextDir?: string;
  /** A tar of the context (`berth build - < ctx.tar`). */
  readonly contextTar?: Readable;
  /** -f: a path (absolute, or relative to the cwd; for a tar context a name inside it) or the Dockerfile's bytes (-f -). */
  readonly dockerfile?: string | Uint8Array;
  readonly tags?: readonly string[];
  readonly buildArgs?: Readonly<Record<string, string>>;
  readonly target?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly noCache?: boolean;
  /** Accepted; berth build uses local images only. */
  readonly pull?: boolean;
  readonly iidfile?: string;
  readonly network?: "default" | "none" | "host";
  /** --secret id=x,src=path */
  readonly secrets?: readonly { readonly id: string; readonly src: string }[];
  /** -o: docker/oci/tar write an archive (`dest` a file, "-" for `stdout`); local copies the root filesystem to `dest`. */
  readonly output?: { readonly type: "docker" | "oci" | "tar" | "local"; readonly dest: string };
  /** Where `-o dest=-` writes. */
  readonly stdout?: Writable;
  readonly platform?: string;
  /** Parallel RUN steps (default: CPUs). */
  readonly parallelism?: number;
  /** The CNI backend for RUN on the default network (default: berth's, under the root and run root). */
  readonly networkBackend?: CniNetworkBackend;
  readonly signal?: AbortSignal;
  readonly onProgress?: (e: BuildEvent) => void;
}

export interface ImageBuildReport {
  readonly id: Digest;
  readonly tags: readonly string[];
  readonly steps: readonly StepReport[];
  readonly warnings: readonly string[];
}

function humanBytes(n: number): string {
  if (n < 1000) return `${n}B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(2).replace(/\.?0+$/, "")}${units[u]}`;
}

async function contextSize(dir: string, excluded: (rel: string) => boolean): Promise<number> {
  const { walkTree } = await import("../build/context.ts");
  const entries = await walkTree(dir, { excluded });
  return entries.reduce((s, e) => s + (e.type === "file" ? e.size : 0), 0);
}

export async function imageBuild(ctx: EngineContext, o: ImageBuildOptions): Promise<ImageBuildReport> {
  const emit = o.onProgress ?? (() => undefined);
  let vertex = 0;
  const tags = (o.tags ?? []).map((t) => {
    const ref = normalizeReference(t);
    if (ref.digest !== undefined) throw invalidParameter(`invalid tag "${t}": a tag cannot contain a digest`);
    return referenceString(ref);
  });
  if (o.platform !== undefined && o.platform !== "") {
    const [os, arch] = o.platform.split("/");
    if (os !== ctx.platform.os || (arch !== undefined && arch !== ctx.platform.architecture)) {
      throw invalidParameter(`platform ${o.platform} is not supported: berth builds for the host's platform (${ctx.platform.os}/${ctx.platform.architecture})`);
    }
  }
  const secrets = new Map<string, string>();
  for (const s of o.secrets ?? []) secrets.set(s.id, s.src);
  throwIfAborted(o.signal);
  using _lease = acquireLease(ctx);
  const tmpDir = join(ctx.config.root, "tmp");
  const t0 = performance.now();
  const v1 = ++vertex;
  emit({ type: "start", vertex: v1, name: `[internal] load build definition from ${typeof o.dockerfile === "string" ? o.dockerfile.split("/").pop() : "Dockerfile"}` });
  const bctx = await openContext({
    ...(o.contextDir === undefined ? {} : { contextDir: o.contextDir }),
    ...(o.contextTar === undefined ? {} : { contextTar: o.contextTar }),
    ...(o.dockerfile === undefined ? {} : { dockerfile: o.dockerfile }),
    tmpDir,
    ...(o.signal === undefined ? {} : { signal: o.signal }),
  }).catch((err: unknown) => {
    emit({ type: "error", vertex: v1, seconds: 0, message: (err as Error).message });
    throw err;
  });
  try {
    emit({ type: "log", vertex: v1, text: `transferring dockerfile: ${humanBytes(bctx.dockerfile.length)} done` });
    emit({ type: "done", vertex: v1, seconds: (performance.now() - t0) / 1000 });
    const v2 = ++vertex;
    emit({ type: "start", vertex: v2, name: "[internal] load .dockerignore" });
    emit({ type: "log", vertex: v2, text: `transferring context: ${humanBytes(bctx.ignoreSize)} done` });
    emit({ type: "done", vertex: v2, seconds: 0 });

    const snapshotter = new OverlaySnapshotter({ root: ctx.config.root, apply: (tar, dest, ao) => applyLayer(tar, dest, ao) });
    // Loaded only when a RUN uses the default network.
    const { CniNetworkBackend: Cni } = o.network === "none" || o.network === "host" ? { CniNetworkBackend: undefined } : await import("../network/index.ts");
    let network: CniNetworkBackend | undefined = o.networkBackend;
    const cache = new BuildCache(ctx.db, ctx.now);
    const resolveBase = async (name: string, signal?: AbortSignal): Promise<BaseImage | undefined> => {
      // Local store first; pull what is missing (or everything with --pull), as docker build does.
      let found = o.pull === true ? undefined : findImage(ctx, name);
      if (found === undefined) {
        try {
          // Loaded only when a pull is needed: the registry client (undici) costs ~40 ms to load.
          const { ensureImage } = await import("./image-ensure.ts");
          const id = await ensureImage(ctx, {
            reference: name,
            pull: o.pull === true ? "always" : "missing",
            ...(signal === undefined ? {} : { signal }),
            onStatus: (line) => emit({ type: "log", vertex: v2, text: line }),
          });
          found = { id };
        } catch (err) {
          if (kindOf(err) === "not-found" && findImage(ctx, name) === undefined) return undefined;
          throw err;
        }
      }
      const view = await loadImageView(ctx, found.id, signal === undefined ? {} : { signal });
      let shown = name;
      try {
        shown = referenceString(normalizeReference(name));
      } catch {
        /* an ID */
      }
      return { id: found.id, name: shown, config: view.config, layers: view.manifest.layers };
    };
    const builder = new Builder(
      {
        content: ctx.content,
        snapshotter,
        cache,
        resolveImage: resolveBase,
        recordLayerSize: (d, s) => recordLayerSize(ctx, d, s),
        networkBackend: () => {
          if (network !== undefined) return network;
          if (Cni === undefined) throw invalidParameter("RUN --network=default in a build with --network none/host is not supported");
          return (network = new Cni({ stateDir: join(ctx.config.root, "network"), runDir: join(ctx.config.runRoot, "network") }));
        },
        tmpDir,
        runcRoot: join(ctx.config.runRoot, "runc-build"),
        cacheMountDir: join(ctx.config.root, "build-cache-mounts"),
      },
      {
        context: bctx,
        buildArgs: o.buildArgs ?? {},
        target: o.target,
        noCache: o.noCache === true,
        network: o.network ?? "default",
        secrets,
        platform: ctx.platform,
        sourceDateEpoch: ctx.config.sourceDateEpoch,
        ...(o.labels === undefined ? {} : { labels: o.labels }),
        signal: o.signal,
        ...(o.parallelism === undefined ? {} : { parallelism: o.parallelism }),
        firstVertex: 4,
        onEvent: emit,
      },
    );
    const v3 = ++vertex;
    emit({ type: "start", vertex: v3, name: "[internal] load build context" });
    const size = await contextSize(bctx.dir, (rel) => bctx.ignore.excludes(rel));
    emit({ type: "log", vertex: v3, text: `transferring context: ${humanBytes(size)} done` });
    emit({ type: "done", vertex: v3, seconds: 0 });
    const result = await builder.build();

    const vx = builder.lastVertex + 1;
    const te = performance.now();
    emit({ type: "start", vertex: vx, name: "exporting to image" });
    emit({ type: "log", vertex: vx, text: "exporting layers done" });
    const configBlob = await ctx.content.put(Buffer.from(JSON.stringify(result.config)));
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: { mediaType: MediaTypes.ociConfig, digest: configBlob.digest, size: configBlob.size },
      layers: [...result.layers],
    };
    const manifestBlob = await ctx.content.put(Buffer.from(JSON.stringify(manifest)));
    const id = configBlob.digest;
    emit({ type: "log", vertex: vx, text: `writing image ${id} done` });
    throwIfAborted(o.signal);
    ctx.db.transaction(() => {
      ctx.images.put({ id, target: { mediaType: MediaTypes.ociManifest, digest: manifestBlob.digest, size: manifestBlob.size } });
      for (const t of tags) ctx.images.tag(t, id);
    });
    for (const t of tags) emit({ type: "log", vertex: vx, text: `naming to ${t} done` });
    if (o.output !== undefined) {
      await exportOutput(ctx, o, id, { mediaType: MediaTypes.ociManifest, digest: manifestBlob.digest, size: manifestBlob.size }, result.layers.length, snapshotter, manifest);
      emit({ type: "log", vertex: vx, text: `exporting to ${o.output.type} ${o.output.dest} done` });
    }
    emit({ type: "done", vertex: vx, seconds: (performance.now() - te) / 1000 });
    if (o.iidfile !== undefined && o.iidfile !== "") await writeFile(o.iidfile, id);
    cache.prune(cacheMaxBytes(process.env));
    for (const w of result.warnings) emit({ type: "warning", text: w });
    return { id, tags: tags.map((t) => familiarString(normalizeReference(t))), steps: result.steps, warnings: result.warnings };
  } finally {
    await bctx.cleanup();
  }
}

async function exportOutput(
  ctx: EngineContext,
  o: ImageBuildOptions,
  id: Digest,
  target: { mediaType: string; digest: Digest; size: number },
  _layerCount: number,
  snapshotter: OverlaySnapshotter,
  manifest: ImageManifest,
): Promise<void> {
  const out = o.output!;
  if (out.type === "local") {
    const configRaw = await ctx.content.readBytes(manifest.config.digest);
    const diffIds = (JSON.parse(configRaw.toString("utf8")) as { rootfs: { diff_ids: Digest[] } }).rootfs.diff_ids;
    const lowerDirs = await snapshotter.ensureLayers({
      diffIds,
      open: async (i) => decompress(await ctx.content.openRead(manifest.layers[i]!.digest)),
      ...(o.signal === undefined ? {} : { signal: o.signal }),
    });
    const tmp = join(ctx.config.root, "tmp");
    await mkdir(tmp, { recursive: true });
    const dir = await mkdtemp(join(tmp, "build-export-"));
    try {
      const m = await snapshotter.prepare({ containerDir: dir, lowerDirs });
      const rootfs = m.target ?? join(dir, "rootfs");
      await snapshotter.mount(m, rootfs);
      try {
        await mkdir(out.dest, { recursive: true });
        const code = await new Promise<number>((resolve, reject) => {
          const cp = spawn("cp", ["-a", `${rootfs}/.`, out.dest], { stdio: "ignore" });
          cp.on("error", reject);
          cp.on("close", (c) => resolve(c ?? 1));
        });
        if (code !== 0) throw systemError(`copying the image's files to ${out.dest} failed`);
      } finally {
        await snapshotter.unmount(rootfs);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return;
  }
  const tags = (o.tags ?? []).map((t) => familiarString(normalizeReference(t)));
  const dest: Writable = out.dest === "-" ? (o.stdout ?? process.stdout) : createWriteStream(out.dest);
  const { saveArchive } = await import("../archive/index.ts");
  try {
    await saveArchive({ images: [{ id, manifest: target, tags }], content: ctx.content, out: dest, ...(o.signal === undefined ? {} : { signal: o.signal }) });
  } catch (err) {
    if (isEngineError(err)) throw err;
    throw systemError(`writing the build output to ${out.dest}: ${(err as Error).message}`, { cause: err });
  }
  if (out.dest !== "-") {
    (dest as import("node:fs").WriteStream).end();
    await finished(dest);
  }
}
