/**
 * `save`: images to one tar that is both a docker-archive and an OCI layout
 * (as Docker 25+ writes). A name without a tag saves every tag of that
 * repository, as docker does; an ID saves the image without names.
 */
import type { Writable } from "node:stream";
import { saveArchive, type SaveImage } from "../archive/index.ts";
import type { Digest } from "../core/index.ts";
import { familiarString, parseReference, referenceName } from "../oci/reference.ts";
import type { EngineContext } from "./context.ts";
import { resolveImage } from "./image-resolve.ts";

export async function imageSave(ctx: EngineContext, names: readonly string[], out: Writable, o: { signal?: AbortSignal } = {}): Promise<void> {
  const byId = new Map<Digest, SaveImage & { tags: string[] }>();
  const add = (id: Digest, tag: string | undefined): void => {
    let entry = byId.get(id);
    if (entry === undefined) {
      entry = { id, manifest: ctx.images.get(id).target, tags: [] };
      byId.set(id, entry);
    }
    if (tag !== undefined && !entry.tags.includes(tag)) entry.tags.push(tag);
  };
  for (const name of names) {
    let repoOnly: string | undefined;
    try {
      const ref = parseReference(name);
      if (ref.tag === undefined && ref.digest === undefined) repoOnly = referenceName(ref);
    } catch {
      /* an ID */
    }
    const repoTags = repoOnly === undefined ? [] : ctx.images.allTags().filter((t) => t.name.startsWith(`${repoOnly}:`));
    if (repoTags.length > 0) {
      for (const t of repoTags) add(t.id, familiarString(parseReference(t.name)));
      continue;
    }
    const { id, ref } = resolveImage(ctx, name);
    add(id, ref === undefined || ref.digest !== undefined ? undefined : familiarString(ref));
  }
  await saveArchive({ images: [...byId.values()], content: ctx.content, out, ...(o.signal === undefined ? {} : { signal: o.signal }) });
}
