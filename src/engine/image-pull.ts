/**
 * `pull`: an image from a registry into the local store (moby
 * distribution/pull_v2.go as seen by a client).
 *
 * Lifecycle: a lease is taken (GC keeps what is being written); the registry
 * module fetches manifest(s), config and layers into the content store
 * (verified by digest, blobs already present are skipped); only then, in one
 * transaction, the image record (ID = config digest, target = the platform
 * manifest), the tag (unless pulled by digest) and the repo digest
 * (`name@<digest of what the reference named>`: the index digest for a
 * multi-platform image, else the manifest digest) are written. A failed or
 * cancelled pull records nothing.
 *
 * Progress goes out as docker's JSON-message stream would print it:
 * `latest: Pulling from library/busybox`, per-layer states, then
 * `Digest: sha256:…` and `Status: Downloaded newer image for busybox:latest`.
 */
import { invalidParameter, notFound, type Descriptor, type Digest, type PlatformSpec } from "../core/index.ts";
import { parseImageConfig, parseManifest } from "../oci/validate.ts";
import { familiarName, familiarString, parseReference, referenceName, referenceString, tagNameOnly, withTag, type Reference } from "../oci/reference.ts";
import { pullImage, platformString, type PullProgress, type RegistryClient } from "../registry/index.ts";
import type { EngineContext } from "./context.ts";
import { acquireLease } from "./lease.ts";
import { createRegistryClient } from "./registry-client-factory.ts";
import { cancelled, shortId } from "../core/index.ts";
import { decompress } from "../layers/index.ts";
import { chainIds, OverlaySnapshotter } from "../snapshots/index.ts";
import { applyLayer } from "../layers/index.ts";
import { recordLayerSize } from "./image-view.ts";

/**
 * Unpacks an image's layers while they download, as docker does: each layer
 * goes into the shared layer store (layers/<chain-id>) as soon as its blob is
 * in, in order, so the first `run` after a pull has nothing left to unpack.
 */
class PullUnpacker {
  readonly #ctx: EngineContext;
  readonly #abort = new AbortController();
  readonly #ready = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  readonly #emit: (e: ProgressEvent) => void;
  #work: Promise<void> | undefined;

  constructor(ctx: EngineContext, emit: (e: ProgressEvent) => void) {
    this.#ctx = ctx;
    this.#emit = emit;
  }

  #slot(digest: string): { promise: Promise<void>; resolve: () => void } {
    let s = this.#ready.get(digest);
    if (s === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      s = { promise, resolve };
      this.#ready.set(digest, s);
    }
    return s;
  }

  #waitFor(digest: string): Promise<void> {
    const signal = this.#abort.signal;
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(cancelled("unpack cancelled", { cause: signal.reason }));
      signal.addEventListener("abort", () => reject(cancelled("unpack cancelled", { cause: signal.reason })), { once: true });
      this.#slot(digest).promise.then(resolve, reject);
    });
  }

  blobReady(desc: Descriptor): void {
    this.#slot(desc.digest).resolve();
  }

  start(m: { readonly config: Descriptor; readonly layers: readonly Descriptor[] }): void {
    const ctx = this.#ctx;
    const signal = this.#abort.signal;
    this.#work = (async () => {
      await this.#waitFor(m.config.digest);
      const config = parseImageConfig(await ctx.content.readBytes(m.config.digest, { signal }));
      const diffIds = config.rootfs.diff_ids as Digest[];
      if (diffIds.length !== m.layers.length) throw invalidParameter(`the image has ${m.layers.length} layers but its config lists ${diffIds.length}`);
      const snap = new OverlaySnapshotter({ root: ctx.config.root, apply: (tar, dest, ao) => applyLayer(tar, dest, { ...ao, allowDevices: true, mode: "layer" }) });
      await snap.ensureLayers({
        diffIds,
        signal,
        open: async (i) => {
          const layer = m.layers[i]!;
          await this.#waitFor(layer.digest);
          this.#emit({ id: shortId(layer.digest), status: "Extracting" });
          return decompress(await ctx.content.openRead(layer.digest, { signal }), { signal });
        },
      });
      for (const chain of chainIds(diffIds)) {
        const meta = await snap.layerMeta(chain).catch(() => undefined);
        if (meta !== undefined) recordLayerSize(ctx, meta.diffId, meta.size);
      }
    })();
    this.#work.catch(() => undefined);
  }

  /** Waits for the unpacking to finish; rethrows its failure. */
  async finish(): Promise<void> {
    await this.#work;
  }

  /** Stops unpacking (the pull failed) and waits until it has let go. */
  async cancel(reason: unknown): Promise<void> {
    this.#abort.abort(reason);
    await this.#work?.catch(() => undefined);
  }
}

/**
 * One line of a docker-style progress stream: with `id` it is the state of one
 * item (a layer, a tag), without it a plain message.
 */
export interface ProgressEvent {
  readonly id?: string;
  readonly status: string;
  readonly current?: number;
  readonly total?: number;
}

export interface ImagePullOptions {
  /** What the user typed: "busybox", "busybox:1.36", "reg:5000/a/b@sha256:…". */
  readonly reference: string;
  /** "linux/arm64/v8" or a PlatformSpec; default the host's. A mismatch is an error. */
  readonly platform?: string | PlatformSpec;
  /** Pull every tag of the repository (`-a`); the reference must not carry a tag or digest. */
  readonly allTags?: boolean;
  readonly signal?: AbortSignal;
  readonly onProgress?: (e: ProgressEvent) => void;
  /** A client to use (not closed here); default one made from ctx.config. */
  readonly client?: RegistryClient;
  /** Environment for DOCKER_CONFIG/HOME when a client is made here (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface PulledImage {
  readonly id: Digest;
  /** Normalised reference pulled: "docker.io/library/busybox:latest" or "…@sha256:…". */
  readonly reference: string;
  /** The repo digest's digest: index digest for multi-platform images, else manifest digest. */
  readonly digest: Digest;
  /** The platform manifest recorded as the image's target. */
  readonly manifest: Descriptor;
  /** True when the local store changed (new image, or the tag moved). */
  readonly updated: boolean;
}

export interface ImagePullResult extends PulledImage {
  /** "Downloaded newer image for busybox:latest" | "Image is up to date for busybox:latest". */
  readonly status: string;
  /** With allTags, one entry per tag; otherwise just this image. */
  readonly images: readonly PulledImage[];
}

/** "linux/arm64/v8" → PlatformSpec. @throws invalid-parameter */
export function parsePlatform(s: string): PlatformSpec {
  const parts = s.toLowerCase().split("/");
  const [os, architecture, variant] = parts;
  if (parts.length > 3 || os === undefined || os === "" || (parts.length > 1 && (architecture === undefined || architecture === "")))
    throw invalidParameter(`"${s}": unknown operating system or architecture: invalid argument`);
  if (architecture === undefined) return { os, architecture: os === "linux" ? hostArch() : "amd64" };
  const arch = architecture === "x86_64" || architecture === "x86-64" ? "amd64" : architecture === "aarch64" ? "arm64" : architecture;
  return variant === undefined || variant === "" ? { os, architecture: arch } : { os, architecture: arch, variant };
}

function hostArch(): string {
  return process.arch === "x64" ? "amd64" : process.arch;
}

function normVariant(arch: string, v: string | undefined): string {
  return arch === "arm64" && (v === undefined || v === "v8") ? "" : (v ?? "");
}

function platformMatches(want: PlatformSpec, got: { os?: string; architecture?: string; variant?: string }): boolean {
  if (want.os !== got.os || want.architecture !== got.architecture) return false;
  const wv = normVariant(want.architecture, want.variant);
  return wv === "" || wv === normVariant(got.architecture ?? "", got.variant);
}

/** Pulls one reference (tag or digest) and records it. */
async function pullOne(
  ctx: EngineContext,
  ref: Reference,
  o: { client: RegistryClient; platform: PlatformSpec; explicitPlatform: boolean; signal?: AbortSignal; emit: (e: ProgressEvent) => void },
): Promise<PulledImage> {
  const shownRef = familiarString(ref);
  o.emit({ id: ref.digest ?? ref.tag ?? "latest", status: `Pulling from ${ref.path}` });
  const layerIds = new Set<string>();
  const fresh = new Set<string>();
  const unpacker = new PullUnpacker(ctx, o.emit);
  let pulled: Awaited<ReturnType<typeof pullImage>>;
  try {
    pulled = await pullImage({
      client: o.client,
      ref,
      store: ctx.content,
      platform: o.platform,
      ...(o.signal === undefined ? {} : { signal: o.signal }),
      onProgress: (e: PullProgress) => {
        layerIds.add(e.id);
        if (e.status === "Download complete") fresh.add(e.id);
        o.emit(e.current === undefined ? { id: e.id, status: e.status } : { id: e.id, status: e.status, current: e.current, ...(e.total === undefined ? {} : { total: e.total }) });
      },
      onManifest: (m) => unpacker.start(m),
      onBlob: (d) => unpacker.blobReady(d),
    });
    await unpacker.finish();
  } catch (err) {
    await unpacker.cancel(err);
    throw err;
  }
  const configRaw = await ctx.content.readBytes(pulled.config.digest, o.signal === undefined ? {} : { signal: o.signal });
  const config = parseImageConfig(configRaw);
  if (o.explicitPlatform && pulled.indexDigest === undefined && !platformMatches(o.platform, config)) {
    const actual = platformString({ os: config.os, architecture: config.architecture, ...(config.variant === undefined ? {} : { variant: config.variant }) });
    throw notFound(
      `image with reference ${shownRef} was found but does not match the specified platform: wanted ${platformString(o.platform)}, actual: ${actual}`,
    );
  }
  // The manifest must describe the config we read (pullImage verified digests; this checks structure).
  const manifestRaw = await ctx.content.readBytes(pulled.manifest.digest, o.signal === undefined ? {} : { signal: o.signal });
  const parsed = parseManifest(manifestRaw, pulled.manifest.mediaType);
  if (parsed.kind !== "manifest") throw invalidParameter(`${shownRef}: expected an image manifest`);

  const id = pulled.config.digest;
  const digest = (pulled.indexDigest ?? pulled.manifest.digest) as Digest;
  const repoDigest = `${referenceName(ref)}@${digest}`;
  const tag = ref.digest === undefined ? referenceString(ref) : undefined;
  const { platform: _platform, ...target } = pulled.manifest;
  let updated = false;
  ctx.db.transaction(() => {
    const existed = ctx.images.find(id) !== undefined;
    const before = tag === undefined ? ctx.images.resolveRepoDigest(repoDigest) : ctx.images.resolveTag(tag);
    updated = !existed || before !== id;
    ctx.images.put({ id, target });
    if (tag !== undefined) ctx.images.tag(tag, id);
    ctx.images.addRepoDigest(repoDigest, id);
  });
  for (const l of layerIds) if (fresh.has(l)) o.emit({ id: l, status: "Pull complete" });
  o.emit({ status: `Digest: ${digest}` });
  return { id, reference: referenceString(ref), digest, manifest: target, updated };
}

/**
 * Pulls `reference` (every tag with allTags) and records it.
 * @throws invalid-parameter (bad reference, tag with -a), not-found (no such
 *   repository/tag, platform mismatch), unauthorized, unavailable, data-loss, cancelled
 */
export async function imagePull(ctx: EngineContext, o: ImagePullOptions): Promise<ImagePullResult> {
  const parsed = parseReference(o.reference);
  if (o.allTags && (parsed.tag !== undefined || parsed.digest !== undefined)) throw invalidParameter("tag can't be used with --all-tags/-a");
  const explicitPlatform = o.platform !== undefined && o.platform !== "";
  const platform: PlatformSpec =
    typeof o.platform === "string" && o.platform !== "" ? parsePlatform(o.platform) : typeof o.platform === "object" ? o.platform : ctx.platform;
  const emit = (e: ProgressEvent): void => {
    try {
      o.onProgress?.(e);
    } catch {
      /* a display error must not break the pull */
    }
  };
  const own = o.client === undefined ? createRegistryClient(ctx.config, o.env === undefined ? {} : { env: o.env }) : undefined;
  const client = o.client ?? own!;
  using _lease = acquireLease(ctx);
  try {
    const sig = o.signal === undefined ? {} : { signal: o.signal };
    const refs: Reference[] = o.allTags
      ? (await client.listTags(parsed, sig)).sort().map((t) => withTag(parsed, t))
      : [tagNameOnly(parsed)];
    if (refs.length === 0) throw notFound(`repository ${familiarName(parsed)} not found: does not exist or no pull access`);
    const images: PulledImage[] = [];
    for (const ref of refs) images.push(await pullOne(ctx, ref, { client, platform, explicitPlatform, ...sig, emit }));
    const last = images[images.length - 1]!;
    const anyUpdated = images.some((i) => i.updated);
    const shown = o.allTags ? familiarName(parsed) : familiarString(refs[0]!);
    const status = `${anyUpdated ? "Downloaded newer image" : "Image is up to date"} for ${shown}`;
    emit({ status: `Status: ${status}` });
    return { ...last, reference: o.allTags ? referenceName(parsed) : last.reference, status, images };
  } finally {
    await own?.close();
  }
}
