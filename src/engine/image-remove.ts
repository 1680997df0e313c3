/**
 * `rmi`: untag, and delete the image when its last name goes (moby
 * daemon/images/image_delete.go):
 * - naming one of several tags only untags it;
 * - naming an image by ID that has several names is refused without -f;
 * - an image used by a container is refused without -f ("must be forced");
 *   a running container blocks even -f ("cannot be forced");
 * - when the image record goes, its blobs go by garbage collection.
 */
import type { Digest } from "../core/index.ts";
import { conflict, shortId } from "../core/index.ts";
import { familiarString, parseReference, referenceString } from "../oci/reference.ts";
import type { EngineContext } from "./context.ts";
import { collectGarbage } from "./gc.ts";
import { resolveImage } from "./image-resolve.ts";

export type ImageDeleteItem = { readonly Untagged: string } | { readonly Deleted: string };

interface ContainerUse {
  readonly id: string;
  readonly running: boolean;
}

function containersUsing(ctx: EngineContext, id: Digest): ContainerUse[] {
  const rows = ctx.db.db.prepare("SELECT id, state FROM containers WHERE image_id = ?").all(id) as { id: string; state: string }[];
  return rows.map((r) => {
    const st = JSON.parse(r.state) as { Status?: string };
    return { id: r.id, running: st.Status === "running" || st.Status === "paused" || st.Status === "restarting" };
  });
}

export async function imageRemove(
  ctx: EngineContext,
  nameOrId: string,
  o: { force?: boolean; noPrune?: boolean; signal?: AbortSignal } = {},
): Promise<ImageDeleteItem[]> {
  const force = o.force === true;
  const { id, ref } = resolveImage(ctx, nameOrId);
  const items: ImageDeleteItem[] = [];
  const tags = ctx.images.tagsOf(id);
  const digests = ctx.images.repoDigestsOf(id);
  const users = containersUsing(ctx, id);
  const running = users.find((u) => u.running);
  const shownName = ref === undefined ? nameOrId : familiarString(ref);

  ctx.db.transaction(() => {
    if (ref !== undefined) {
      const full = referenceString(ref);
      const isTag = ref.digest === undefined;
      const names = isTag ? tags : digests;
      // Untagging one of several names never deletes the image.
      const others = tags.length + digests.length - (names.includes(full) ? 1 : 0);
      const sameRepoDigestsOnly =
        isTag && digests.every((d) => d.startsWith(`${referenceString({ domain: ref.domain, path: ref.path })}@`)) && tags.length === 1;
      if (others > 0 && !sameRepoDigestsOnly) {
        if (isTag) ctx.images.untag(full);
        else ctx.db.db.prepare("DELETE FROM repo_digests WHERE name = ?").run(full);
        items.push({ Untagged: familiarString(parseReference(full)) });
        // moby: when the last tag of a repository goes, that repository's digest
        // references go with it; the image is deleted when no name is left.
        const repo = referenceString({ domain: ref.domain, path: ref.path });
        if (!isTag || tags.some((t) => t !== full && t.startsWith(`${repo}:`))) return;
        const sameRepo = digests.filter((d) => d.startsWith(`${repo}@`));
        for (const d of sameRepo) ctx.db.db.prepare("DELETE FROM repo_digests WHERE name = ?").run(d);
        if (tags.length - 1 + digests.length - sameRepo.length > 0) return;
        tags.splice(tags.indexOf(full), 1);
        digests.length = 0;
      }
    } else if (tags.length + digests.length > 1 && !force) {
      const repos = new Set(tags.map((t) => t.replace(/:[^:/]*$/, "")));
      if (repos.size > 1 || tags.length > 1) {
        throw conflict(`conflict: unable to delete ${shortId(nameOrId)} (must be forced) - image is referenced in multiple repositories`);
      }
    }
    if (running !== undefined) {
      throw conflict(
        `conflict: unable to delete ${ref === undefined ? shortId(id) : shownName} (cannot be forced) - image is being used by running container ${shortId(running.id)}`,
      );
    }
    const stopped = users[0];
    if (stopped !== undefined && !force) {
      throw conflict(
        ref === undefined
          ? `conflict: unable to delete ${shortId(id)} (must be forced) - image is being used by stopped container ${shortId(stopped.id)}`
          : `conflict: unable to remove repository reference "${shownName}" (must force) - container ${shortId(stopped.id)} is using its referenced image ${shortId(id)}`,
      );
    }
    for (const t of tags) {
      ctx.images.untag(t);
      items.push({ Untagged: familiarString(parseReference(t)) });
    }
    for (const d of digests) items.push({ Untagged: familiarString(parseReference(d)) });
    ctx.images.delete(id);
    items.push({ Deleted: id });
  });
  if (items.some((i) => "Deleted" in i) && o.noPrune !== true) {
    await collectGarbage(ctx, o.signal === undefined ? {} : { signal: o.signal });
  }
  return items;
}
