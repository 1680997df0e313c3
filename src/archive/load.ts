/**
 * `loadArchive`: reads docker-archive, Docker 25+ combined archives, OCI
 * layouts (oci-archive) from Docker, Podman, skopeo, umoci and berth, in one
 * streaming pass over the tar.
 *
 * How it works
 * 1. The input is sniffed: gzip and zstd are decompressed on the fly; bzip2/xz
 *    are refused (invalid-parameter).
 * 2. Every member is taken as it comes:
 *    - `blobs/sha256/<hex>` goes straight into the content store, verified
 *      against its name (a mismatch is data-loss, and nothing is published
 *      under the wrong digest);
 *    - small metadata (manifest.json, index.json, repositories, oci-layout,
 *      `*.json`, `<id>/json`, `<id>/VERSION`) stays in memory (capped);
 *    - any other file (legacy `<id>/layer.tar`) goes into the content store
 *      under the digest of its bytes;
 *    - symlinks and hard links are recorded and resolved logically, only to
 *      members inside the archive; absolute names and ".." are refused.
 *    So the member order does not matter and nothing is spooled twice.
 * 3. Images are resolved: index.json when present (host platform chosen
 *    from nested indexes), plus manifest.json entries that index.json does not
 *    already cover (legacy docker-archive). Legacy images get a new OCI manifest
 *    whose layers are the tars as found (uncompressed: media type
 *    `application/vnd.oci.image.layer.v1.tar`, digest = diff ID, exactly what
 *    Docker 25 writes for the same image; a compressed layer keeps its
 *    compression and its diff ID is computed). Every layer is checked against
 *    the config's rootfs.diff_ids.
 * 4. Only when every image resolved does the call return; the caller tags
 *    then. On any error nothing is returned, so nothing is tagged; blobs already
 *    committed may stay (content-addressed, collected by GC).
 */
import { once } from "node:events";
import { setTimeout as delay } from "node:timers/promises";
import type { Readable } from "node:stream";
import { extract, type Header } from "tar-stream";

type Entry = Readable & { readonly header: Header };
import type { ContentStore } from "../content/content-store.ts";
import {
  dataLoss,
  digestOf,
  Hasher,
  invalidParameter,
  isEngineError,
  notFound,
  parseDigest,
  shortId,
  throwIfAborted,
  type Descriptor,
  type Digest,
  type PlatformSpec,
} from "../core/index.ts";
import { MediaTypes, type ImageManifest } from "../oci/index.ts";
import { normalizeReference, referenceString } from "../oci/reference.ts";
import { decompressAuto } from "./compression.ts";
import {
  ANNOTATION_IMAGE_NAME,
  ANNOTATION_REF_NAME,
  DOCKER_MANIFEST_FILE,
  hostPlatform,
  INDEX_TYPES,
  MANIFEST_TYPES,
  OCI_INDEX_FILE,
  parseConfigFacts,
  parseDockerManifest,
  parseManifestOrIndex,
  type ConfigFacts,
} from "./formats.ts";
import { memberName, resolveInside } from "./paths.ts";

export interface LoadedImage {
  /** The manifest the image is stored as (in the content store). */
  readonly manifest: Descriptor;
  /** Config digest: the image ID. */
  readonly config: Digest;
  /** Normalised full names ("docker.io/library/busybox:latest"), deduplicated. */
  readonly tags: string[];
}

export interface LoadArchiveOptions {
  readonly input: Readable | AsyncIterable<Uint8Array>;
  readonly content: ContentStore;
  readonly signal?: AbortSignal;
  readonly onProgress?: (msg: string) => void;
  /** Platform picked from multi-platform indexes; default: the host's. */
  readonly platform?: PlatformSpec;
}

/** Metadata kept in memory is capped per file. */
const MAX_METADATA = 16 * 1024 * 1024;
const MAX_LINK_HOPS = 16;
const BLOB_RE = /^blobs\/sha256\/([a-f0-9]{64})$/;

type Member =
  | { readonly kind: "bytes"; readonly data: Buffer }
  | { readonly kind: "blob"; readonly digest: Digest; readonly size: number }
  | { readonly kind: "symlink"; readonly target: string }
  | { readonly kind: "hardlink"; readonly target: string };

function isMetadataName(name: string): boolean {
  const base = name.slice(name.lastIndexOf("/") + 1);
  return (
    name === "manifest.json" || name === "index.json" || name === "repositories" || name === "oci-layout" ||
    base.endsWith(".json") || base === "json" || base === "VERSION"
  );
}

function tarError(err: unknown): Error {
  if (isEngineError(err) || (err instanceof Error && err.name === "AbortError")) return err as Error;
  const msg = err instanceof Error ? err.message : String(err);
  if (/unexpected end/i.test(msg)) return dataLoss(`archive is truncated: ${msg}`, { cause: err });
  return invalidParameter(`not a valid tar archive: ${msg}`, { cause: err });
}

async function readAll(entry: AsyncIterable<Uint8Array>, max: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of entry) {
    n += c.byteLength;
    if (n > max) throw invalidParameter(`${what}: larger than ${max} bytes`);
    chunks.push(Buffer.from(c));
  }
  return Buffer.concat(chunks);
}

/** Streams the tar and files every member (step 2 of the module comment). */
async function readMembers(o: LoadArchiveOptions): Promise<Map<string, Member>> {
  const members = new Map<string, Member>();
  const ex = extract();
  const stop = new AbortController();
  const source = decompressAuto(o.input, "archive");
  let pumpError: unknown;
  let exError: unknown;
  let exClosed = false;
  const exClose = new Promise<void>((resolve) => {
    ex.on("error", (e: unknown) => (exError ??= e));
    ex.on("close", () => {
      exClosed = true;
      resolve();
    });
  });
  const pump = (async () => {
    try {
      for await (const c of source) {
        if (stop.signal.aborted) return;
        if (!ex.write(c)) await once(ex, "drain", { signal: stop.signal });
      }
      (ex as unknown as { end(): void }).end();
    } catch (err) {
      if (stop.signal.aborted) return;
      pumpError = err;
      ex.destroy(err as Error);
    }
  })();
  try {
    for await (const entry of ex as AsyncIterable<Entry>) {
      throwIfAborted(o.signal);
      const h = entry.header;
      const name = memberName(h.name);
      switch (h.type) {
        case "file":
        case "contiguous-file":
        case null:
        case undefined: {
          const m = BLOB_RE.exec(name);
          if (m !== null) {
            const expected = parseDigest(`sha256:${m[1]}`);
            o.onProgress?.(`Loading blob ${shortId(expected)} (${h.size ?? 0} bytes)`);
            const info = await o.content.ingest(entry, {
              expected: { digest: expected, ...(h.size !== undefined ? { size: h.size } : {}) },
              ...(o.signal ? { signal: o.signal } : {}),
            }).catch((err: unknown) => {
              throw isEngineError(err) && err.kind === "data-loss"
                ? dataLoss(`archive member ${name}: content does not match its digest`, { cause: err })
                : err;
            });
            members.set(name, { kind: "blob", digest: info.digest, size: info.size });
          } else if (isMetadataName(name) && (h.size ?? 0) <= MAX_METADATA) {
            members.set(name, { kind: "bytes", data: await readAll(entry, MAX_METADATA, name) });
          } else {
            o.onProgress?.(`Loading ${name} (${h.size ?? 0} bytes)`);
            const info = await o.content.ingest(entry, o.signal ? { signal: o.signal } : {});
            members.set(name, { kind: "blob", digest: info.digest, size: info.size });
          }
          break;
        }
        case "symlink":
          members.set(name, { kind: "symlink", target: h.linkname ?? "" });
          entry.resume();
          break;
        case "link":
          members.set(name, { kind: "hardlink", target: h.linkname ?? "" });
          entry.resume();
          break;
        default:
          entry.resume(); // directories, devices, pax headers: nothing to keep
      }
    }
    await pump;
    if (pumpError !== undefined) throw pumpError;
  } catch (err) {
    if (!isEngineError(err) && !(err instanceof Error && err.name === "AbortError") && !exClosed) {
      // An entry stream destroyed under us: the extractor's own error (truncation) says why.
      await Promise.race([exClose, delay(1000, undefined, { ref: false })]);
    }
    throw tarError(pumpError ?? exError ?? err);
  } finally {
    stop.abort();
    ex.destroy();
    await pump;
  }
  return members;
}

/** The archive's members, resolved and read (step 3). */
class ArchiveView {
  readonly #members: Map<string, Member>;
  readonly #o: LoadArchiveOptions;

  constructor(members: Map<string, Member>, o: LoadArchiveOptions) {
    this.#members = members;
    this.#o = o;
  }

  /** Follows links to a regular member. @throws invalid-parameter for escapes, loops, missing members */
  resolve(path: string, what: string): Member & { kind: "bytes" | "blob" } {
    let name = resolveInside("", path, what);
    for (let hop = 0; hop <= MAX_LINK_HOPS; hop++) {
      const m = this.#members.get(name);
      if (m === undefined) throw invalidParameter(`${what}: ${JSON.stringify(path)} is not in the archive`);
      if (m.kind === "bytes" || m.kind === "blob") return m;
      const base = m.kind === "symlink" ? name.slice(0, Math.max(0, name.lastIndexOf("/"))) : "";
      name = resolveInside(base, m.target, `${what}: link ${name}`);
    }
    throw invalidParameter(`${what}: too many links resolving ${JSON.stringify(path)}`);
  }

  has(path: string): boolean {
    return this.#members.has(path);
  }

  async bytes(path: string, what: string): Promise<Buffer> {
    const m = this.resolve(path, what);
    if (m.kind === "bytes") return m.data;
    return await this.#o.content.readBytes(m.digest, { maxBytes: MAX_METADATA, ...(this.#o.signal ? { signal: this.#o.signal } : {}) });
  }

  /** The member as a blob in the content store (small in-memory members are put there). */
  async blob(path: string, what: string): Promise<{ digest: Digest; size: number }> {
    const m = this.resolve(path, what);
    if (m.kind === "blob") return m;
    return await this.#o.content.put(m.data);
  }

  /** A blob named by digest: from the archive, or already in the content store. */
  async blobByDigest(d: Descriptor, what: string): Promise<void> {
    const path = `blobs/sha256/${d.digest.slice(7)}`;
    let size: number;
    if (this.#members.has(path)) {
      const b = await this.blob(path, what);
      if (b.digest !== d.digest) throw dataLoss(`${what}: ${path} has digest ${b.digest}`);
      size = b.size;
    } else if (await this.#o.content.has(d.digest)) {
      size = (await this.#o.content.info(d.digest)).size;
    } else {
      throw invalidParameter(`${what}: blob ${d.digest} is not in the archive`);
    }
    if (size !== d.size) throw dataLoss(`${what}: blob ${d.digest} is ${size} bytes, its descriptor says ${d.size}`);
  }

  async blobBytes(d: Descriptor, what: string): Promise<Buffer> {
    await this.blobByDigest(d, what);
    return await this.#o.content.readBytes(d.digest, { maxBytes: MAX_METADATA, ...(this.#o.signal ? { signal: this.#o.signal } : {}) });
  }
}

function platformMatches(p: PlatformSpec | undefined, want: PlatformSpec): boolean {
  if (p === undefined) return false;
  if (p.os !== want.os || p.architecture !== want.architecture) return false;
  return want.variant === undefined || p.variant === undefined || p.variant === want.variant;
}

function normalizeTag(name: string, what: string): string {
  let ref;
  try {
    ref = normalizeReference(name);
  } catch (err) {
    throw invalidParameter(`${what}: invalid image name ${JSON.stringify(name)}`, { cause: err });
  }
  if (ref.digest !== undefined || ref.tag === undefined) throw invalidParameter(`${what}: ${JSON.stringify(name)} is not a name:tag`);
  return referenceString(ref);
}

/** The tag an index.json entry names, if any (containerd's full name first, then a ref.name that is a whole reference). */
function tagOfIndexEntry(d: Descriptor, what: string): string | undefined {
  const full = d.annotations?.[ANNOTATION_IMAGE_NAME];
  if (full !== undefined && full !== "") return normalizeTag(full, what);
  const ref = d.annotations?.[ANNOTATION_REF_NAME];
  // A bare "latest" is only a tag with no repository (skopeo `oci:dir:latest`): no name to give.
  if (ref !== undefined && (ref.includes(":") || ref.includes("/"))) return normalizeTag(ref, what);
  return undefined;
}

async function checkImage(view: ArchiveView, manifest: ImageManifest, what: string): Promise<ConfigFacts> {
  const configRaw = await view.blobBytes(manifest.config, `${what}: config`);
  const facts = parseConfigFacts(configRaw, `${what}: config ${manifest.config.digest}`);
  if (facts.diffIds.length !== manifest.layers.length) {
    throw dataLoss(`${what}: config lists ${facts.diffIds.length} diff IDs for ${manifest.layers.length} layers`);
  }
  for (const [i, layer] of manifest.layers.entries()) {
    await view.blobByDigest(layer, `${what}: layer ${i}`);
    const uncompressed = layer.mediaType === MediaTypes.ociLayer || layer.mediaType === "application/vnd.docker.image.rootfs.diff.tar";
    if (uncompressed && layer.digest !== facts.diffIds[i]) {
      throw dataLoss(`${what}: layer ${layer.digest} does not match the config's diff ID ${facts.diffIds[i]}`);
    }
  }
  return facts;
}

/** Follows index.json entry `d` down to an image manifest for the platform. */
async function resolveEntry(
  view: ArchiveView,
  d: Descriptor,
  want: PlatformSpec,
  what: string,
): Promise<{ desc: Descriptor; manifest: ImageManifest }> {
  let desc = d;
  for (let depth = 0; depth < 4; depth++) {
    if (!MANIFEST_TYPES.has(desc.mediaType) && !INDEX_TYPES.has(desc.mediaType)) {
      throw invalidParameter(`${what}: unsupported media type ${desc.mediaType}`);
    }
    const raw = await view.blobBytes(desc, what);
    const parsed = parseManifestOrIndex(raw, desc.mediaType, `${what}: ${desc.digest}`);
    if (parsed.kind === "manifest") {
      return { desc: { mediaType: desc.mediaType, digest: desc.digest, size: desc.size }, manifest: parsed.value };
    }
    const candidates = parsed.value.manifests.filter((m) => platformMatches(m.platform, want));
    // Prefer a child whose blob the archive carries (single-platform saves of a multi-platform index).
    let next: Descriptor | undefined;
    for (const c of candidates) {
      if (view.has(`blobs/sha256/${c.digest.slice(7)}`)) {
        next = c;
        break;
      }
    }
    next ??= candidates[0];
    if (next === undefined && parsed.value.manifests.length === 1 && parsed.value.manifests[0]?.platform === undefined) {
      next = parsed.value.manifests[0];
    }
    if (next === undefined) {
      throw notFound(`${what}: no matching manifest for ${want.os}/${want.architecture}${want.variant ? `/${want.variant}` : ""} in the manifest list entries`);
    }
    desc = next;
  }
  throw invalidParameter(`${what}: indexes nested too deeply`);
}

/** Builds an OCI manifest for a legacy docker-archive entry. */
async function legacyImage(
  view: ArchiveView,
  o: LoadArchiveOptions,
  configPath: string,
  layerPaths: readonly string[],
  what: string,
): Promise<{ desc: Descriptor; config: Digest }> {
  const configRaw = await view.bytes(configPath, `${what}: Config`);
  const configDigest = digestOf(configRaw);
  const named = /(?:^|\/)(?:sha256:)?([a-f0-9]{64})(?:\.json)?$/.exec(configPath);
  if (named !== null && `sha256:${named[1]}` !== configDigest) {
    throw dataLoss(`${what}: config ${configPath} has digest ${configDigest}`);
  }
  const facts = parseConfigFacts(configRaw, `${what}: config`);
  if (facts.diffIds.length !== layerPaths.length) {
    throw dataLoss(`${what}: config lists ${facts.diffIds.length} diff IDs for ${layerPaths.length} layers`);
  }
  const layers: Descriptor[] = [];
  for (const [i, p] of layerPaths.entries()) {
    throwIfAborted(o.signal);
    const b = await view.blob(p, `${what}: Layers[${i}]`);
    const want = facts.diffIds[i]!;
    if (b.digest === want) {
      layers.push({ mediaType: MediaTypes.ociLayer, digest: b.digest, size: b.size });
      continue;
    }
    // Compressed layer tars (containerd and some tools write them): compute the diff ID.
    const src = await o.content.openRead(b.digest, o.signal ? { signal: o.signal } : {});
    const h = new Hasher();
    let kind = "none";
    for await (const c of decompressAuto(src, `${what}: ${p}`, (k) => (kind = k))) h.update(c);
    if (kind === "none" || h.digest() !== want) {
      throw dataLoss(`${what}: layer ${p} does not match the config's diff ID ${want}`);
    }
    layers.push({ mediaType: kind === "gzip" ? MediaTypes.ociLayerGzip : MediaTypes.ociLayerZstd, digest: b.digest, size: b.size });
  }
  await o.content.put(configRaw, { expected: configDigest });
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: { mediaType: MediaTypes.ociConfig, digest: configDigest, size: configRaw.byteLength },
    layers,
  };
  const raw = Buffer.from(JSON.stringify(manifest));
  const info = await o.content.put(raw);
  return { desc: { mediaType: MediaTypes.ociManifest, digest: info.digest, size: info.size }, config: configDigest };
}

/**
 * Loads every image in the archive into the content store and returns them
 * with their tags; the caller records and tags them (atomically, afterwards).
 * @throws invalid-parameter for a malformed or hostile archive (bad member names,
 *   links or paths out of the archive, missing files, bad JSON, unsupported
 *   compression); data-loss for truncated or corrupt data and digest mismatches;
 *   not-found when an index has no manifest for the platform; cancelled
 */
export async function loadArchive(o: LoadArchiveOptions): Promise<LoadedImage[]> {
  throwIfAborted(o.signal);
  const members = await readMembers(o);
  const view = new ArchiveView(members, o);
  const want = o.platform ?? hostPlatform();
  const images = new Map<Digest, { manifest: Descriptor; config: Digest; tags: Set<string> }>();
  const add = (manifest: Descriptor, config: Digest, tags: Iterable<string>): void => {
    let img = images.get(manifest.digest);
    if (img === undefined) images.set(manifest.digest, (img = { manifest, config, tags: new Set() }));
    for (const t of tags) img.tags.add(t);
  };

  const hasIndex = members.has(OCI_INDEX_FILE);
  const hasDocker = members.has(DOCKER_MANIFEST_FILE);
  if (!hasIndex && !hasDocker) {
    throw invalidParameter("invalid archive: it has neither manifest.json (docker-archive) nor index.json (OCI layout)");
  }

  if (hasIndex) {
    const raw = await view.bytes(OCI_INDEX_FILE, OCI_INDEX_FILE);
    const idx = parseManifestOrIndex(raw, MediaTypes.ociIndex, OCI_INDEX_FILE);
    if (idx.kind !== "index") throw invalidParameter(`${OCI_INDEX_FILE}: not an image index`);
    for (const [i, d] of idx.value.manifests.entries()) {
      throwIfAborted(o.signal);
      const what = `${OCI_INDEX_FILE}: manifests[${i}]`;
      const tag = tagOfIndexEntry(d, what);
      const r = await resolveEntry(view, d, want, what);
      await checkImage(view, r.manifest, what);
      add(r.desc, r.manifest.config.digest, tag === undefined ? [] : [tag]);
    }
  }

  if (hasDocker) {
    const items = parseDockerManifest(await view.bytes(DOCKER_MANIFEST_FILE, DOCKER_MANIFEST_FILE));
    const byConfig = new Map<Digest, Digest>(); // config → manifest digest, for index images
    for (const img of images.values()) byConfig.set(img.config, img.manifest.digest);
    for (const [i, item] of items.entries()) {
      throwIfAborted(o.signal);
      const what = `${DOCKER_MANIFEST_FILE}[${i}]`;
      const tags = (item.RepoTags ?? []).map((t) => normalizeTag(t, what));
      const configDigest = digestOf(await view.bytes(item.Config, `${what}: Config`));
      const known = byConfig.get(configDigest);
      if (known !== undefined) {
        // Already loaded through index.json (Docker 25+ and berth archives): only add the tags.
        const img = images.get(known)!;
        add(img.manifest, img.config, tags);
        continue;
      }
      const r = await legacyImage(view, o, item.Config, item.Layers, what);
      add(r.desc, r.config, tags);
      byConfig.set(r.config, r.desc.digest);
    }
  }

  if (images.size === 0) throw invalidParameter("invalid archive: it contains no images");
  const out = [...images.values()].map((i) => ({ manifest: i.manifest, config: i.config, tags: [...i.tags] }));
  for (const i of out) o.onProgress?.(i.tags.length > 0 ? `Loaded image: ${i.tags.join(", ")}` : `Loaded image ID: ${i.config}`);
  return out;
}
