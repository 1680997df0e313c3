/**
 * `pushImage`: content store → registry (the engine half of `docker push`).
 *
 * For an image manifest: config and layers first (HEAD to skip what the
 * registry has; a cross-repository mount when the caller knows the blob came
 * from another repository of the same registry; else an upload, monolithic or
 * chunked), then the manifest under the reference's tag (or digest). For an
 * index, every child manifest is pushed by digest first, then the index.
 */
import {
  invalidParameter,
  isEngineError,
  shortId,
  throwIfAborted,
  type Descriptor,
  type Digest,
} from "../core/index.ts";
import { MediaTypes } from "../oci/index.ts";
import type { ContentStore } from "../content/content-store.ts";
import { familiarRef, familiarRepo, type RegistryClient, type RepoRef } from "./registry-client.ts";
import { toEngineError } from "./registry-error.ts";
import { parseDescriptor } from "../oci/validate.ts";

export type PushStatus = "Preparing" | "Waiting" | "Pushing" | "Pushed" | "Layer already exists" | "Mounted from";

export interface PushProgress {
  readonly id: string;
  readonly status: PushStatus;
  readonly current?: number;
  readonly total?: number;
  /** For "Mounted from": the source repository path. */
  readonly from?: string;
}

export interface PushOptions {
  readonly client: RegistryClient;
  /** Destination; its tag (default "latest") or digest names the pushed manifest. */
  readonly ref: RepoRef;
  readonly store: ContentStore;
  /** The manifest or index to push (must be in the store). */
  readonly manifest: Descriptor;
  readonly signal?: AbortSignal;
  readonly onProgress?: (e: PushProgress) => void;
  /**
   * Repository paths on the same registry that may already hold these blobs
   * (per digest, or "*" for all), tried as cross-repository mounts.
   */
  readonly mountFrom?: Readonly<Record<string, readonly string[]>>;
  /** Blobs uploaded at once (default 3). */
  readonly concurrency?: number;
}

const INDEX_TYPES: ReadonlySet<string> = new Set([MediaTypes.ociIndex, MediaTypes.dockerManifestList]);

/** @returns the digest and size of the pushed top-level manifest. @throws unauthorized, not-found, unavailable, data-loss, cancelled */
export async function pushImage(o: PushOptions): Promise<{ digest: Digest; size: number }> {
  const ctx = { op: "push" as const, repo: familiarRepo(o.ref), ref: familiarRef(o.ref) };
  try {
    throwIfAborted(o.signal);
    const reference = o.ref.digest ?? o.ref.tag ?? "latest";
    await pushManifestTree(o, o.manifest, reference, 0);
    return { digest: o.manifest.digest, size: o.manifest.size };
  } catch (e) {
    throw toEngineError(e, ctx);
  }
}

async function pushManifestTree(o: PushOptions, desc: Descriptor, reference: string, depth: number): Promise<void> {
  if (depth > 3) throw invalidParameter("index nesting too deep");
  const raw = await o.store.readBytes(desc.digest, o.signal ? { signal: o.signal } : {});
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(raw.toString("utf8")) as Record<string, unknown>;
  } catch (e) {
    throw invalidParameter(`manifest ${desc.digest} is not valid JSON`, { cause: e });
  }
  const sig = o.signal ? { signal: o.signal } : {};
  if (INDEX_TYPES.has(desc.mediaType)) {
    const children = Array.isArray(v["manifests"]) ? v["manifests"].map((m, i) => parseDescriptor(m, `index entry ${i}`)) : [];
    for (const c of children) {
      // Children the store lacks (other platforms never pulled) must already be on the registry.
      if (!(await o.store.has(c.digest))) continue;
      await pushManifestTree(o, c, c.digest, depth + 1);
    }
  } else {
    const config = parseDescriptor(v["config"], "manifest config");
    const layers = Array.isArray(v["layers"]) ? v["layers"].map((l, i) => parseDescriptor(l, `manifest layer ${i}`)) : [];
    await pushBlobs(o, [config, ...layers]);
  }
  await o.client.putManifest(o.ref, reference, raw, desc.mediaType, sig);
}

async function pushBlobs(o: PushOptions, blobs: readonly Descriptor[]): Promise<void> {
  const seen = new Set<string>();
  const queue = blobs.filter((b) => !seen.has(b.digest) && seen.add(b.digest));
  const emit = (e: PushProgress): void => {
    try {
      o.onProgress?.(e);
    } catch {
      /* display errors never break a push */
    }
  };
  for (const b of queue) emit({ id: shortId(b.digest), status: "Preparing" });
  const limit = Math.max(1, o.concurrency ?? 3);
  for (const b of queue.slice(limit)) emit({ id: shortId(b.digest), status: "Waiting" });
  const inner = new AbortController();
  const onOuter = (): void => inner.abort(o.signal?.reason);
  o.signal?.addEventListener("abort", onOuter, { once: true });
  let firstError: unknown;
  const worker = async (): Promise<void> => {
    for (let b = queue.shift(); b !== undefined; b = queue.shift()) {
      if (inner.signal.aborted) return;
      try {
        await pushBlob(o, b, inner.signal, emit);
      } catch (e) {
        firstError ??= e;
        inner.abort(e);
        return;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: limit }, worker));
  } finally {
    o.signal?.removeEventListener("abort", onOuter);
  }
  throwIfAborted(o.signal);
  if (firstError !== undefined) throw firstError;
}

async function pushBlob(o: PushOptions, desc: Descriptor, signal: AbortSignal, emit: (e: PushProgress) => void): Promise<void> {
  const id = shortId(desc.digest);
  const { client, ref, store } = o;
  if (await client.blobExists(ref, desc.digest, { signal })) {
    emit({ id, status: "Layer already exists" });
    return;
  }
  let location: string | undefined;
  const sources = [...(o.mountFrom?.[desc.digest] ?? []), ...(o.mountFrom?.["*"] ?? [])].filter((p) => p !== ref.path);
  for (const from of sources) {
    try {
      const r = await client.mountBlob(ref, desc.digest, from, { signal });
      if (r.mounted) {
        emit({ id, status: "Mounted from", from });
        return;
      }
      location = r.location;
      break;
    } catch (e) {
      // A refused mount is only a missed optimisation; fall back to uploading.
      if (isEngineError(e) && e.kind === "cancelled") throw e;
    }
  }
  const info = await store.info(desc.digest);
  if (info.size !== desc.size) throw invalidParameter(`blob ${desc.digest}: store has ${info.size} bytes, manifest says ${desc.size}`);
  emit({ id, status: "Pushing", current: 0, total: desc.size });
  let last = 0;
  await client.uploadBlob(ref, desc, () => store.openRead(desc.digest, { signal }), {
    signal,
    ...(location ? { location } : {}),
    onProgress: (sent) => {
      if (sent - last >= 512 * 1024 || sent === desc.size) {
        last = sent;
        emit({ id, status: "Pushing", current: sent, total: desc.size });
      }
    },
  });
  emit({ id, status: "Pushed" });
}
