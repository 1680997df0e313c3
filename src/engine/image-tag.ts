/** `tag SOURCE TARGET`: points a new name at an existing image. */
import { invalidParameter } from "../core/index.ts";
import { normalizeReference, referenceString } from "../oci/reference.ts";
import type { EngineContext } from "./context.ts";
import { resolveImage } from "./image-resolve.ts";

export function imageTag(ctx: EngineContext, source: string, target: string): void {
  let ref;
  try {
    ref = normalizeReference(target);
  } catch (err) {
    throw invalidParameter(`Error parsing reference: "${target}" is not a valid repository/tag: ${(err as Error).message}`, { cause: err });
  }
  const { id } = resolveImage(ctx, source);
  if (ref.digest !== undefined) throw invalidParameter("refusing to create a tag with a digest reference");
  ctx.images.tag(referenceString(ref), id);
}
