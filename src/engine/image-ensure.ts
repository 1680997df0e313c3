/**
 * Local-first image lookup for `run`, `create` and build's `FROM` (docker
 * run's `--pull missing|always|never`).
 *
 * - "missing" (default): the local store answers if it has the image (by ID,
 *   name:tag or name@digest); otherwise docker's `Unable to find image
 *   'busybox:latest' locally` goes to onStatus (the CLI writes it to stderr)
 *   and the image is pulled.
 * - "always": pulled every time (the registry decides whether anything is new).
 * - "never": local only; missing is not-found `No such image: busybox:latest`.
 *
 * An image ID (or ID prefix) is never pulled: it can only be local.
 */
import type { Digest, PlatformSpec } from "../core/index.ts";
import { familiarString, isFullImageId, parseReference, tagNameOnly } from "../oci/reference.ts";
import type { RegistryClient } from "../registry/index.ts";
import type { EngineContext } from "./context.ts";
import { imagePull, type ProgressEvent } from "./image-pull.ts";
import { findImage, resolveImage } from "./image-resolve.ts";

export { parsePullPolicy, type PullPolicy } from "./pull-policy.ts";
import type { PullPolicy } from "./pull-policy.ts";

export interface EnsureImageOptions {
  readonly reference: string;
  /** Default "missing". */
  readonly pull?: PullPolicy;
  /** "linux/arm64" or a PlatformSpec, passed to the pull. */
  readonly platform?: string | PlatformSpec;
  readonly signal?: AbortSignal;
  /** Pull progress (layers, Digest, Status). */
  readonly onProgress?: (e: ProgressEvent) => void;
  /** One-line notices, e.g. "Unable to find image 'busybox:latest' locally". */
  readonly onStatus?: (line: string) => void;
  /** A client to use for the pull (not closed here). */
  readonly client?: RegistryClient;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

function shown(reference: string): string {
  try {
    return familiarString(tagNameOnly(parseReference(reference)));
  } catch {
    return reference;
  }
}

/**
 * @returns the local image ID, pulling first when the policy says so.
 * @throws not-found (never + missing, or a missing image ID), and whatever imagePull throws
 */
export async function ensureImage(ctx: EngineContext, o: EnsureImageOptions): Promise<Digest> {
  const policy = o.pull ?? "missing";
  const pull = async (): Promise<Digest> => {
    const r = await imagePull(ctx, {
      reference: o.reference,
      ...(o.platform === undefined ? {} : { platform: o.platform }),
      ...(o.signal === undefined ? {} : { signal: o.signal }),
      ...(o.onProgress === undefined ? {} : { onProgress: o.onProgress }),
      ...(o.client === undefined ? {} : { client: o.client }),
      ...(o.env === undefined ? {} : { env: o.env }),
    });
    return r.id;
  };
  if (policy === "always" && !isFullImageId(o.reference)) return pull();
  const local = findImage(ctx, o.reference);
  if (local !== undefined) return local.id;
  if (policy === "never" || isFullImageId(o.reference)) return resolveImage(ctx, o.reference).id;
  parseReference(o.reference); // only a valid name can be pulled (invalid-parameter otherwise)
  o.onStatus?.(`Unable to find image '${shown(o.reference)}' locally`);
  return pull();
}
