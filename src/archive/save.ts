/**
 * `saveArchive`: one tar that is both a docker-archive and an OCI image layout,
 * the shape Docker 25+ writes (moby image/tarexport/save.go).
 *
 * Layout, in this fixed order (so that a one-pass reader meets the metadata first):
 *   oci-layout
 *   index.json        one entry per tag (annotations io.containerd.image.name = full name,
 *                     org.opencontainers.image.ref.name = tag), one unannotated entry per
 *                     image given without a tag
 *   manifest.json     docker-archive: Config and Layers point at blobs/sha256/<hex>
 *   repositories      legacy { familiar name: { tag: hex of the top layer's diff ID } } (only with tags)
 *   blobs/, blobs/sha256/
 *   blobs/sha256/*    per image: manifest, config, layers as stored, then the uncompressed
 *                     layer tars that manifest.json needs
 *
 * Layers (a decision, documented): the OCI side keeps the image exactly as
 * stored (same manifest, same compressed layer blobs), so manifest digests and
 * repo digests survive a round trip and `skopeo`/`umoci`/containerd read it as a
 * normal OCI layout. manifest.json's Layers point at *uncompressed* tars, as
 * Docker 25 writes them (blob name = the diff ID), so every docker-archive
 * reader, old `docker load` included, takes them. When a stored layer is already
 * uncompressed both sides share the blob; a compressed layer costs an extra
 * uncompressed copy in the archive. The uncompressed size has to be in the tar
 * header before the data, so a compressed layer is decompressed twice (once to
 * measure and verify its diff ID, once to write); nothing is buffered in memory
 * or spooled to disk.
 *
 * Determinism: mtime 0 (or SOURCE_DATE_EPOCH), uid/gid 0, no user names, mode
 * 0644/0755, JSON written compactly with a fixed key order.
 */
import { once } from "node:events";
import { pipeline } from "node:stream/promises";
import type { Writable } from "node:stream";
import { pack, type Pack } from "tar-stream";
import type { ContentStore } from "../content/content-store.ts";
import {
  dataLoss,
  digestHex,
  Hasher,
  invalidParameter,
  throwIfAborted,
  type Descriptor,
  type Digest,
} from "../core/index.ts";
import { MediaTypes } from "../oci/index.ts";
import { familiarName, normalizeReference, referenceString } from "../oci/reference.ts";
import { decompressAuto } from "./compression.ts";
import {
  ANNOTATION_IMAGE_NAME,
  ANNOTATION_REF_NAME,
  DOCKER_MANIFEST_FILE,
  DOCKER_REPOSITORIES_FILE,
  OCI_INDEX_FILE,
  OCI_LAYOUT_CONTENT,
  OCI_LAYOUT_FILE,
  parseConfigFacts,
  parseManifestOrIndex,
  type ConfigFacts,
} from "./formats.ts";

export interface SaveImage {
  /** Image ID: the config digest. */
  readonly id: Digest;
  /** The manifest the image is stored as (an index is resolved to the child whose config is `id`). */
  readonly manifest: Descriptor;
  /** Familiar "name:tag" strings as given on the command line ("busybox:latest"); empty for an image saved by ID. */
  readonly tags: readonly string[];
}

export interface SaveArchiveOptions {
  readonly images: readonly SaveImage[];
  readonly content: ContentStore;
  readonly out: Writable;
  readonly signal?: AbortSignal;
  /** Seconds since the epoch for every mtime; default SOURCE_DATE_EPOCH or 0. */
  readonly mtime?: number;
}

interface PlannedBlob {
  /** The stored blob whose bytes are written. */
  readonly source: Digest;
  /** The digest the bytes written have (differs from `source` for decompressed copies). */
  readonly digest: Digest;
  readonly size: number;
  readonly decompress: boolean;
}

interface PlannedImage {
  readonly image: SaveImage;
  readonly manifest: Descriptor;
  readonly config: Descriptor;
  readonly facts: ConfigFacts;
  /** manifest.json Layers: digests of the uncompressed tars. */
  readonly diffIds: readonly Digest[];
}

function sourceDateEpoch(): number {
  const s = process.env["SOURCE_DATE_EPOCH"];
  if (s === undefined || !/^\d+$/.test(s)) return 0;
  return Number(s);
}

function blobPath(d: Digest): string {
  return `blobs/sha256/${digestHex(d)}`;
}

/** Resolves an index to the manifest whose config is `id`. */
async function resolveManifest(o: SaveArchiveOptions, image: SaveImage): Promise<{ manifest: Descriptor; config: Descriptor; layers: readonly Descriptor[] }> {
  let desc = image.manifest;
  for (let depth = 0; depth < 4; depth++) {
    const raw = await o.content.readBytes(desc.digest, o.signal ? { signal: o.signal } : {});
    const parsed = parseManifestOrIndex(raw, desc.mediaType, `manifest ${desc.digest}`);
    if (parsed.kind === "manifest") {
      if (parsed.value.config.digest !== image.id) {
        throw invalidParameter(`image ${image.id}: manifest ${desc.digest} has config ${parsed.value.config.digest}`);
      }
      return { manifest: { mediaType: desc.mediaType, digest: desc.digest, size: raw.byteLength }, config: parsed.value.config, layers: parsed.value.layers };
    }
    // An index: find the child whose config is the image ID, among those stored.
    let next: Descriptor | undefined;
    for (const child of parsed.value.manifests) {
      if (!(await o.content.has(child.digest))) continue;
      const craw = await o.content.readBytes(child.digest);
      const c = parseManifestOrIndex(craw, child.mediaType, `manifest ${child.digest}`);
      if (c.kind === "index" || c.value.config.digest === image.id) {
        next = child;
        if (c.kind === "manifest") break;
      }
    }
    if (next === undefined) throw invalidParameter(`image ${image.id}: index ${desc.digest} has no stored manifest for it`);
    desc = next;
  }
  throw invalidParameter(`image ${image.id}: manifest indexes nested too deeply`);
}

/** Hashes the decompressed bytes of a stored layer: its diff ID and uncompressed size. */
async function measureUncompressed(content: ContentStore, d: Digest, signal?: AbortSignal): Promise<{ digest: Digest; size: number }> {
  const h = new Hasher();
  const src = await content.openRead(d, signal ? { signal } : {});
  for await (const c of decompressAuto(src, `layer ${d}`)) h.update(c);
  return { digest: h.digest(), size: h.size };
}

async function plan(o: SaveArchiveOptions): Promise<{ images: PlannedImage[]; blobs: PlannedBlob[] }> {
  const blobs = new Map<Digest, PlannedBlob>();
  const add = (b: PlannedBlob): void => {
    if (!blobs.has(b.digest)) blobs.set(b.digest, b);
  };
  const images: PlannedImage[] = [];
  const uncompressed: PlannedBlob[] = [];
  for (const image of o.images) {
    throwIfAborted(o.signal);
    const m = await resolveManifest(o, image);
    const configRaw = await o.content.readBytes(m.config.digest, o.signal ? { signal: o.signal } : {});
    const facts = parseConfigFacts(configRaw, `image config ${m.config.digest}`);
    if (facts.diffIds.length !== m.layers.length) {
      throw dataLoss(`image ${image.id}: config lists ${facts.diffIds.length} diff IDs for ${m.layers.length} layers`);
    }
    add({ source: m.manifest.digest, digest: m.manifest.digest, size: m.manifest.size, decompress: false });
    add({ source: m.config.digest, digest: m.config.digest, size: configRaw.byteLength, decompress: false });
    for (const [i, layer] of m.layers.entries()) {
      const info = await o.content.info(layer.digest);
      add({ source: layer.digest, digest: layer.digest, size: info.size, decompress: false });
      const diffId = facts.diffIds[i]!;
      if (layer.digest === diffId) continue; // stored uncompressed: manifest.json shares the blob
      if (blobs.has(diffId) || uncompressed.some((b) => b.digest === diffId)) continue;
      const u = await measureUncompressed(o.content, layer.digest, o.signal);
      if (u.digest !== diffId) {
        throw dataLoss(`image ${image.id}: layer ${layer.digest} decompresses to ${u.digest}, but the config says ${diffId}`);
      }
      uncompressed.push({ source: layer.digest, digest: diffId, size: u.size, decompress: true });
    }
    images.push({ image, manifest: m.manifest, config: { mediaType: m.config.mediaType, digest: m.config.digest, size: configRaw.byteLength }, facts, diffIds: facts.diffIds });
  }
  for (const u of uncompressed) add(u);
  return { images, blobs: [...blobs.values()] };
}

function indexJson(images: readonly PlannedImage[]): string {
  const manifests: object[] = [];
  for (const p of images) {
    const platform = p.facts.os !== "" && p.facts.architecture !== ""
      ? { architecture: p.facts.architecture, os: p.facts.os, ...(p.facts.variant !== undefined ? { variant: p.facts.variant } : {}) }
      : undefined;
    const base = { mediaType: p.manifest.mediaType, digest: p.manifest.digest, size: p.manifest.size };
    if (p.image.tags.length === 0) {
      manifests.push({ ...base, ...(platform ? { platform } : {}) });
      continue;
    }
    for (const tag of p.image.tags) {
      const ref = normalizeReference(tag);
      if (ref.tag === undefined) throw invalidParameter(`cannot save ${JSON.stringify(tag)}: not a name:tag reference`);
      manifests.push({
        ...base,
        annotations: { [ANNOTATION_IMAGE_NAME]: referenceString(ref), [ANNOTATION_REF_NAME]: ref.tag },
        ...(platform ? { platform } : {}),
      });
    }
  }
  return JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests });
}

function manifestJson(images: readonly PlannedImage[]): string {
  return JSON.stringify(
    images.map((p) => ({
      Config: blobPath(p.config.digest),
      RepoTags: p.image.tags.length === 0 ? null : [...p.image.tags],
      Layers: p.diffIds.map(blobPath),
    })),
  );
}

function repositoriesJson(images: readonly PlannedImage[]): string | undefined {
  const repos: Record<string, Record<string, string>> = {};
  let any = false;
  for (const p of images) {
    const top = p.diffIds.at(-1);
    if (top === undefined) continue;
    for (const tag of p.image.tags) {
      const ref = normalizeReference(tag);
      if (ref.tag === undefined) continue;
      (repos[familiarName(ref)] ??= {})[ref.tag] = digestHex(top);
      any = true;
    }
  }
  return any ? JSON.stringify(repos) : undefined;
}

/** Adds one entry and waits until tar-stream has taken it. */
async function addEntry(
  tar: Pack,
  header: { name: string; size: number; type: "file" | "directory"; mtime: Date },
  body: AsyncIterable<Uint8Array> | Uint8Array | undefined,
  signal?: AbortSignal,
): Promise<void> {
  const full = {
    ...header,
    mode: header.type === "directory" ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    uname: "",
    gname: "",
  };
  const done = new Promise<void>((resolve, reject) => {
    const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
    if (body === undefined || body instanceof Uint8Array) {
      if (body === undefined) tar.entry(full, cb);
      else tar.entry(full, Buffer.from(body), cb);
      return;
    }
    const entry = tar.entry(full, cb);
    void (async () => {
      try {
        for await (const chunk of body) {
          throwIfAborted(signal);
          if (!entry.write(chunk)) await once(entry, "drain", {});
        }
        (entry as unknown as { end(): void }).end();
      } catch (err) {
        entry.destroy(err as Error);
        reject(err);
      }
    })();
  });
  await done;
}

/**
 * Writes the images into one tar on `out` (see the module comment for the layout).
 * Images are written in the order given; the same blob is written once.
 * @throws not-found when a blob is missing from the content store; data-loss when a
 *   stored layer does not decompress to its config's diff ID; invalid-parameter for a
 *   bad tag or an ID that does not match the manifest; cancelled
 */
export async function saveArchive(o: SaveArchiveOptions): Promise<void> {
  throwIfAborted(o.signal);
  if (o.images.length === 0) throw invalidParameter("no images to save");
  const planned = await plan(o);
  const mtime = new Date((o.mtime ?? sourceDateEpoch()) * 1000);
  const tar = pack();
  const sink = pipeline(tar, o.out, o.signal ? { signal: o.signal } : {});
  sink.catch(() => undefined); // observed below
  try {
    const file = (name: string, data: string | Uint8Array): Promise<void> => {
      const b = typeof data === "string" ? Buffer.from(data) : data;
      return addEntry(tar, { name, size: b.byteLength, type: "file", mtime }, b);
    };
    await file(OCI_LAYOUT_FILE, OCI_LAYOUT_CONTENT);
    await file(OCI_INDEX_FILE, indexJson(planned.images));
    await file(DOCKER_MANIFEST_FILE, manifestJson(planned.images));
    const repos = repositoriesJson(planned.images);
    if (repos !== undefined) await file(DOCKER_REPOSITORIES_FILE, repos);
    await addEntry(tar, { name: "blobs/", size: 0, type: "directory", mtime }, undefined);
    await addEntry(tar, { name: "blobs/sha256/", size: 0, type: "directory", mtime }, undefined);
    for (const b of planned.blobs) {
      throwIfAborted(o.signal);
      const src = await o.content.openRead(b.source, o.signal ? { signal: o.signal } : {});
      const body = b.decompress ? verifyLength(decompressAuto(src, `layer ${b.source}`), b) : verifyLength(src, b);
      await addEntry(tar, { name: blobPath(b.digest), size: b.size, type: "file", mtime }, body, o.signal);
    }
    tar.finalize();
    await sink;
  } catch (err) {
    tar.destroy(err as Error);
    await sink.catch(() => undefined);
    throw err;
  }
}

/** Passes bytes through, failing if they do not hash to the planned digest and size (a blob changed under us). */
async function* verifyLength(src: AsyncIterable<Uint8Array>, b: PlannedBlob): AsyncGenerator<Uint8Array> {
  const h = new Hasher();
  for await (const c of src) {
    h.update(c);
    if (h.size > b.size) throw dataLoss(`blob ${b.digest}: more bytes than the planned ${b.size}`);
    yield c;
  }
  if (h.size !== b.size || h.digest() !== b.digest) throw dataLoss(`blob ${b.digest}: content changed while saving`);
}

