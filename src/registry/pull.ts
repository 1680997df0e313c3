/**
 * `pullImage`: registry → content store (the engine half of `docker pull`).
 *
 *   resolve(tag) ──► index? ──select platform──► manifest ──► config + layers (3 at a time)
 *
 * Every blob goes through ContentWriter.commit({digest, size}) so nothing is
 * ever visible under a digest it does not have; blobs the store already has
 * are skipped ("Already exists"). The manifest (and index) are written last,
 * so a stored manifest implies its blobs are stored. On failure or abort, the
 * in-flight writers are aborted (temp files removed) and the first error is
 * thrown; blobs completed before the failure stay (they are valid content,
 * and GC owns removal).
 */
import type { Readable } from "node:stream";
import {
  cancelled,
  dataLoss,
  invalidParameter,
  notFound,
  notImplemented,
  shortId,
  throwIfAborted,
  type Descriptor,
  type Digest,
  type PlatformSpec,
} from "../core/index.ts";
import { MediaTypes } from "../oci/index.ts";
import { parseManifest } from "../oci/validate.ts";
import type { ContentStore } from "../content/content-store.ts";
import { familiarRef, familiarRepo, type RegistryClient, type RepoRef } from "./registry-client.ts";
import { toEngineError } from "./registry-error.ts";

export type PullStatus =
  | "Pulling fs layer"
  | "Waiting"
  | "Downloading"
  | "Verifying Checksum"
  | "Download complete"
  | "Already exists"
  | "Retrying";

/** One line of a docker-like progress display; `id` is the short digest of a layer. */
export interface PullProgress {
  readonly id: string;
  readonly status: PullStatus;
  readonly current?: number;
  readonly total?: number;
}

export interface PullResult {
  /** The platform image manifest (with `platform` when it came from an index). */
  readonly manifest: Descriptor;
  readonly config: Descriptor;
  /** Base layer first. */
  readonly layers: readonly Descriptor[];
  /** The index/manifest list digest when the reference named one. */
  readonly indexDigest?: Digest;
  /** "<domain>/<path>@<digest of what the reference named>", e.g. "docker.io/library/node@sha256:…". */
  readonly repoDigest: string;
}

export interface PullOptions {
  readonly client: RegistryClient;
  readonly ref: RepoRef;
  readonly store: ContentStore;
  /** Default: the host's (linux/amd64 on x64). */
  readonly platform?: PlatformSpec;
  readonly signal?: AbortSignal;
  readonly onProgress?: (e: PullProgress) => void;
  /** Layers fetched at once (default 3, as Docker's max-concurrent-downloads). */
  readonly concurrency?: number;
  /**
   * Called once the platform manifest is known (before any blob is fetched),
   * then once per blob as soon as it is in the store (committed or already
   * there). Lets a caller unpack layers while later ones still download.
   */
  readonly onManifest?: (m: { readonly config: Descriptor; readonly layers: readonly Descriptor[] }) => void;
  readonly onBlob?: (desc: Descriptor) => void;
}

const ARCH: Record<string, { architecture: string; variant?: string }> = {
  x64: { architecture: "amd64" },
  arm64: { architecture: "arm64", variant: "v8" },
  arm: { architecture: "arm", variant: "v7" },
  ia32: { architecture: "386" },
  ppc64: { architecture: "ppc64le" },
  s390x: { architecture: "s390x" },
  riscv64: { architecture: "riscv64" },
};

/** The platform of this process (linux/amd64 on x64 hosts). */
export function hostPlatform(): PlatformSpec {
  const a = ARCH[process.arch] ?? { architecture: process.arch };
  return { os: process.platform === "win32" ? "windows" : "linux", ...a };
}

export function platformString(p: PlatformSpec): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
}

function normVariant(arch: string, v: string | undefined): string {
  if (arch === "arm64" && (v === undefined || v === "v8")) return "";
  return v ?? "";
}

/** Picks the first index entry matching `want` (os, architecture, and variant when `want` has one). */
export function selectPlatform(manifests: readonly Descriptor[], want: PlatformSpec): Descriptor | undefined {
  const wantVariant = normVariant(want.architecture, want.variant);
  const candidates = manifests.filter(
    (m) =>
      m.platform !== undefined &&
      m.platform.os === want.os &&
      m.platform.architecture === want.architecture &&
      (wantVariant === "" || normVariant(m.platform.architecture, m.platform.variant) === wantVariant),
  );
  // Prefer an exact variant match when the wanted platform has none but the entries differ (arm v7 vs v6).
  return candidates[0];
}

const INDEX_TYPES: ReadonlySet<string> = new Set([MediaTypes.ociIndex, MediaTypes.dockerManifestList]);
const MANIFEST_TYPES: ReadonlySet<string> = new Set([MediaTypes.ociManifest, MediaTypes.dockerManifest]);
const SCHEMA1_TYPES: ReadonlySet<string> = new Set([MediaTypes.dockerSchema1, MediaTypes.dockerSchema1Signed]);

/** Pulls `ref` into `store`. @throws not-found, unauthorized, unavailable, data-loss, not-implemented (schema 1), cancelled */
export async function pullImage(o: PullOptions): Promise<PullResult> {
  const { client, ref, store, signal } = o;
  const want = o.platform ?? hostPlatform();
  const ctx = { op: "pull" as const, repo: familiarRepo(ref), ref: familiarRef(ref) };
  try {
    throwIfAborted(signal);
    const top = await client.resolve(ref, signal ? { signal } : {});
    const pending: { raw: Buffer; digest: Digest }[] = [];
    let indexDigest: Digest | undefined;
    let cur = top;
    for (let depth = 0; ; depth++) {
      const mt = cur.descriptor.mediaType;
      if (SCHEMA1_TYPES.has(mt))
        throw notImplemented(
          `${ctx.ref} uses the image format Docker Image manifest version 2, schema 1, which is no longer supported; push it again with a newer client to upgrade it`,
        );
      if (!INDEX_TYPES.has(mt)) break;
      if (depth >= 3) throw invalidParameter(`${ctx.ref}: index nesting too deep`);
      const idx = parseManifest(cur.raw, mt);
      if (idx.kind !== "index") throw invalidParameter(`${ctx.ref}: expected an index`);
      const entries = idx.value.manifests;
      const chosen = selectPlatform(entries, want);
      if (chosen === undefined) throw notFound(`no matching manifest for ${platformString(want)} in the manifest list entries`);
      pending.push({ raw: cur.raw, digest: cur.descriptor.digest });
      indexDigest ??= cur.descriptor.digest;
      const next = await client.resolve({ domain: ref.domain, path: ref.path, digest: chosen.digest }, signal ? { signal } : {});
      cur = { ...next, descriptor: { ...next.descriptor, mediaType: chosen.mediaType || next.descriptor.mediaType, ...(chosen.platform ? { platform: chosen.platform } : {}) } };
    }
    if (!MANIFEST_TYPES.has(cur.descriptor.mediaType))
      throw invalidParameter(`${ctx.ref}: unsupported manifest media type ${JSON.stringify(cur.descriptor.mediaType)}`);
    const parsed = parseManifest(cur.raw, cur.descriptor.mediaType);
    if (parsed.kind !== "manifest") throw invalidParameter(`${ctx.ref}: expected an image manifest`);
    const { config, layers } = parsed.value;

    o.onManifest?.({ config, layers });
    await fetchAll({ ...o, config, layers });

    // Manifests last: a stored manifest implies stored blobs.
    await store.put(cur.raw, { expected: cur.descriptor.digest });
    for (const p of pending.reverse()) await store.put(p.raw, { expected: p.digest });
    return {
      manifest: cur.descriptor,
      config,
      layers,
      ...(indexDigest ? { indexDigest } : {}),
      repoDigest: `${ref.domain}/${ref.path}@${top.descriptor.digest}`,
    };
  } catch (e) {
    throw toEngineError(e, ctx);
  }
}

async function fetchAll(o: PullOptions & { config: Descriptor; layers: readonly Descriptor[] }): Promise<void> {
  const inner = new AbortController();
  const onOuter = (): void => inner.abort(o.signal?.reason);
  o.signal?.addEventListener("abort", onOuter, { once: true });
  const emit = (e: PullProgress): void => {
    try {
      o.onProgress?.(e);
    } catch {
      /* a display error must not break the pull */
    }
  };
  try {
    // Unique blobs only: an image may list the same layer twice.
    const seen = new Set<string>();
    const layers = o.layers.filter((l) => !seen.has(l.digest) && seen.add(l.digest));
    for (const l of layers) emit({ id: shortId(l.digest), status: "Pulling fs layer" });
    const queue: { desc: Descriptor; show: boolean }[] = [
      { desc: o.config, show: false },
      ...layers.filter((l) => l.digest !== o.config.digest).map((desc) => ({ desc, show: true })),
    ];
    for (const q of queue.slice(o.concurrency ?? 3)) if (q.show) emit({ id: shortId(q.desc.digest), status: "Waiting" });
    let firstError: unknown;
    const worker = async (): Promise<void> => {
      for (let q = queue.shift(); q !== undefined; q = queue.shift()) {
        if (inner.signal.aborted) return;
        try {
          await fetchOne(o, q.desc, inner.signal, q.show ? emit : () => {});
        } catch (e) {
          firstError ??= e;
          inner.abort(e);
          return;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, o.concurrency ?? 3) }, worker));
    if (o.signal?.aborted) throw cancelled("pull cancelled", { cause: o.signal.reason });
    if (firstError !== undefined) throw firstError;
  } finally {
    o.signal?.removeEventListener("abort", onOuter);
  }
}

async function fetchOne(o: PullOptions, desc: Descriptor, signal: AbortSignal, emit: (e: PullProgress) => void): Promise<void> {
  const id = shortId(desc.digest);
  if (await o.store.has(desc.digest)) {
    emit({ id, status: "Already exists" });
    o.onBlob?.(desc);
    return;
  }
  const w = await o.store.writer({ signal });
  let committed = false;
  let body: Readable | undefined;
  try {
    body = await o.client.fetchBlob(o.ref, desc, { signal });
    let n = 0;
    let lastEmit = 0;
    for await (const chunk of body) {
      const b = chunk as Buffer;
      n += b.length;
      if (n > desc.size) throw dataLoss(`blob ${desc.digest}: more than the expected ${desc.size} bytes`);
      await w.write(b);
      if (n - lastEmit >= 512 * 1024 || n === desc.size) {
        lastEmit = n;
        emit({ id, status: "Downloading", current: n, total: desc.size });
      }
    }
    emit({ id, status: "Verifying Checksum" });
    await w.commit({ digest: desc.digest, size: desc.size });
    committed = true;
    emit({ id, status: "Download complete" });
    o.onBlob?.(desc);
  } finally {
    body?.destroy();
    if (!committed) await w.abort().catch(() => {});
  }
}
