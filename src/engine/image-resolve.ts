/**
 * Finds an image by what a user typed, in Docker's order (moby
 * daemon/images GetImage): a full ID; a name with a tag or digest (the tag
 * defaulting to latest); then a unique prefix of an ID.
 */
import type { Digest } from "../core/index.ts";
import { conflict, isEngineError, notFound } from "../core/index.ts";
import { familiarString, isFullImageId, looksLikeImageId, parseReference, referenceString, tagNameOnly, type Reference } from "../oci/reference.ts";
import type { EngineContext } from "./context.ts";

export interface ResolvedImage {
  readonly id: Digest;
  /** The reference the user named, when they named one (not an ID). */
  readonly ref?: Reference;
}

function byIdPrefix(ctx: EngineContext, s: string): Digest | undefined {
  const hex = s.startsWith("sha256:") ? s.slice(7) : s;
  const rows = ctx.db.db.prepare("SELECT id FROM images WHERE id LIKE ? LIMIT 2").all(`sha256:${hex}%`) as { id: string }[];
  if (rows.length > 1) throw conflict(`multiple IDs found with provided prefix: ${s}`);
  return rows[0]?.id as Digest | undefined;
}

/** Like resolveImage, but undefined instead of not-found. */
export function findImage(ctx: EngineContext, nameOrId: string): ResolvedImage | undefined {
  if (isFullImageId(nameOrId)) {
    const id = (nameOrId.startsWith("sha256:") ? nameOrId : `sha256:${nameOrId}`) as Digest;
    return ctx.images.find(id) === undefined ? undefined : { id };
  }
  let ref: Reference | undefined;
  try {
    ref = tagNameOnly(parseReference(nameOrId));
  } catch (err) {
    if (!isEngineError(err) || !looksLikeImageId(nameOrId)) throw err;
  }
  if (ref !== undefined) {
    if (ref.digest !== undefined) {
      const name = `${referenceString({ domain: ref.domain, path: ref.path })}@${ref.digest}`;
      const id = ctx.images.resolveRepoDigest(name);
      if (id !== undefined) return { id, ref };
    } else {
      const id = ctx.images.resolveTag(referenceString(ref));
      if (id !== undefined) return { id, ref };
    }
  }
  if (looksLikeImageId(nameOrId)) {
    const id = byIdPrefix(ctx, nameOrId);
    if (id !== undefined) return { id };
  }
  return undefined;
}

/** @throws not-found with Docker's "No such image: node:latest" */
export function resolveImage(ctx: EngineContext, nameOrId: string): ResolvedImage {
  const found = findImage(ctx, nameOrId);
  if (found !== undefined) return found;
  let shown = nameOrId;
  try {
    if (!looksLikeImageId(nameOrId) || nameOrId.includes(":")) shown = familiarString(tagNameOnly(parseReference(nameOrId)));
  } catch {
    /* keep what was typed */
  }
  throw notFound(`No such image: ${shown}`);
}
