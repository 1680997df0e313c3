/**
 * `push`: a local image to a registry (moby distribution/push_v2.go as seen by
 * a client).
 *
 * The image is found by name (tag default "latest"); its stored manifest is
 * pushed as is, so the registry's digest equals the local one. Blobs the
 * registry has are skipped (HEAD); blobs the image was pulled with from
 * another repository of the same registry are offered as cross-repository
 * mounts (its other repo digests); the rest are uploaded. Then the repo digest
 * `name@<manifest digest>` is recorded locally.
 *
 * Progress: `The push refers to repository [docker.io/library/busybox]`, per
 * layer `Preparing` … `Pushed` / `Layer already exists` / `Mounted from x`, then
 * `latest: digest: sha256:… size: 1234`.
 */
import { invalidParameter, notFound, shortId, type Digest } from "../core/index.ts";
import { parseManifest } from "../oci/validate.ts";
import { familiarName, familiarString, parseReference, referenceName, referenceString, tagNameOnly, withTag, type Reference } from "../oci/reference.ts";
import { pushImage, type RegistryClient } from "../registry/index.ts";
import type { EngineContext } from "./context.ts";
import type { ProgressEvent } from "./image-pull.ts";
import { createRegistryClient } from "./registry-client-factory.ts";

export interface ImagePushOptions {
  /** "reg:5000/team/app:v1"; tag default "latest". */
  readonly reference: string;
  /** Push every local tag of the repository (`-a`); the reference must not carry a tag. */
  readonly allTags?: boolean;
  readonly signal?: AbortSignal;
  readonly onProgress?: (e: ProgressEvent) => void;
  /** A client to use (not closed here); default one made from ctx.config. */
  readonly client?: RegistryClient;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface PushedTag {
  readonly tag: string;
  readonly digest: Digest;
  readonly size: number;
}

export interface ImagePushResult extends PushedTag {
  /** With allTags one entry per tag pushed, else just this one. */
  readonly pushed: readonly PushedTag[];
}

async function pushOne(
  ctx: EngineContext,
  ref: Reference,
  o: { client: RegistryClient; signal?: AbortSignal; emit: (e: ProgressEvent) => void },
): Promise<PushedTag> {
  const name = referenceString(ref);
  const id = ctx.images.resolveTag(name);
  if (id === undefined) {
    // moby: no tag of the repository at all, or just not this one.
    const repoPrefix = `${referenceName(ref)}:`;
    if (!ctx.images.allTags().some((t) => t.name.startsWith(repoPrefix)))
      throw notFound(`An image does not exist locally with the tag: ${familiarName(ref)}`);
    throw notFound(`tag does not exist: ${familiarString(ref)}`);
  }
  const record = ctx.images.get(id);
  const sig = o.signal === undefined ? {} : { signal: o.signal };
  const raw = await ctx.content.readBytes(record.target.digest, sig);
  const parsed = parseManifest(raw, record.target.mediaType);
  const hidden = parsed.kind === "manifest" ? shortId(parsed.value.config.digest) : undefined;
  // Other repositories of the same registry that hold this image: cross-repository mount sources.
  const mountFrom: string[] = [];
  for (const rd of ctx.images.repoDigestsOf(id)) {
    try {
      const other = parseReference(rd);
      if (other.domain === ref.domain && other.path !== ref.path && !mountFrom.includes(other.path)) mountFrom.push(other.path);
    } catch {
      /* a malformed record is only a missed hint */
    }
  }
  const tag = ref.tag ?? "latest";
  const res = await pushImage({
    client: o.client,
    ref,
    store: ctx.content,
    manifest: record.target,
    ...sig,
    ...(mountFrom.length > 0 ? { mountFrom: { "*": mountFrom } } : {}),
    onProgress: (e) => {
      if (e.id === hidden) return;
      const status = e.status === "Mounted from" && e.from !== undefined ? `Mounted from ${e.from}` : e.status;
      o.emit(e.current === undefined ? { id: e.id, status } : { id: e.id, status, current: e.current, ...(e.total === undefined ? {} : { total: e.total }) });
    },
  });
  ctx.db.transaction(() => {
    if (ctx.images.find(id) !== undefined) ctx.images.addRepoDigest(`${referenceName(ref)}@${res.digest}`, id);
  });
  o.emit({ status: `${tag}: digest: ${res.digest} size: ${res.size}` });
  return { tag, digest: res.digest, size: res.size };
}

/**
 * Pushes a local image (every local tag of the repository with allTags).
 * @throws not-found ("An image does not exist locally with the tag: x", "tag does not exist: x:t"),
 *   invalid-parameter, unauthorized, unavailable, data-loss, cancelled
 */
export async function imagePush(ctx: EngineContext, o: ImagePushOptions): Promise<ImagePushResult> {
  const parsed = parseReference(o.reference);
  if (parsed.digest !== undefined) throw invalidParameter("cannot push a digest reference");
  if (o.allTags && parsed.tag !== undefined) throw invalidParameter("tag can't be used with --all-tags/-a");
  const emit = (e: ProgressEvent): void => {
    try {
      o.onProgress?.(e);
    } catch {
      /* display errors never break a push */
    }
  };
  let refs: Reference[];
  if (o.allTags) {
    const prefix = `${referenceName(parsed)}:`;
    refs = ctx.images
      .allTags()
      .filter((t) => t.name.startsWith(prefix))
      .map((t) => withTag(parsed, t.name.slice(prefix.length)))
      .sort((a, b) => (a.tag ?? "").localeCompare(b.tag ?? ""));
    if (refs.length === 0) throw notFound(`An image does not exist locally with the tag: ${familiarName(parsed)}`);
  } else {
    refs = [tagNameOnly(parsed)];
  }
  const own = o.client === undefined ? createRegistryClient(ctx.config, o.env === undefined ? {} : { env: o.env }) : undefined;
  const client = o.client ?? own!;
  try {
    emit({ status: `The push refers to repository [${referenceName(parsed)}]` });
    const pushed: PushedTag[] = [];
    for (const ref of refs) pushed.push(await pushOne(ctx, ref, { client, ...(o.signal === undefined ? {} : { signal: o.signal }), emit }));
    return { ...pushed[pushed.length - 1]!, pushed };
  } finally {
    await own?.close();
  }
}
