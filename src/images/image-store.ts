/**
 * The image store: which images exist locally and which names point at them
 * (Docker's reference store plus image store, kept in SQLite).
 *
 * Glossary
 * - image ID: the digest of the image config blob (as Docker's). One record per ID.
 * - target: the manifest descriptor the image was stored from (or written for it).
 *   Its blobs (manifest, config, layers) live in the ContentStore.
 * - tag: a normalised `name:tag` (`docker.io/library/node:latest`) → image ID. A tag
 *   points at exactly one image; an image has any number of tags.
 * - repo digest: `name@sha256:<manifest digest>` recorded when an image was pulled
 *   or pushed (RepoDigests in inspect).
 * - dangling: an image with no tag (shown as `<none>:<none>`).
 *
 * Invariants: every tag and repo digest points at an existing image record;
 * removing an image removes its tags and repo digests in the same transaction.
 * Blobs are not deleted here: garbage collection removes blobs that no image,
 * container or cache record references.
 *
 * Methods are synchronous: SQLite transactions are (STYLE.md 2b). Do blob I/O
 * first, then record the result.
 */
import type { Descriptor, Digest } from "../core/index.ts";

export interface ImageRecord {
  /** Image ID: the config digest. */
  readonly id: Digest;
  /** The manifest this image is stored as. */
  readonly target: Descriptor;
  /** When the image record was first written here (ISO 8601). */
  readonly storedAt: string;
  /** When a tag last moved to this image (ISO 8601), Docker's Metadata.LastTagTime. */
  readonly lastTagTime?: string;
}

export interface ImageStore {
  /** @throws not-found */
  get(id: Digest): ImageRecord;
  find(id: Digest): ImageRecord | undefined;
  list(): ImageRecord[];
  /** Inserts or keeps an image record; returns the stored record. */
  put(record: { id: Digest; target: Descriptor }): ImageRecord;
  /** Removes an image record with its tags and repo digests. */
  delete(id: Digest): void;

  /** Points `name` (normalised `repo:tag`) at `id`; returns the image the tag pointed at before, if another. */
  tag(name: string, id: Digest): Digest | undefined;
  /** @returns whether the tag existed */
  untag(name: string): boolean;
  resolveTag(name: string): Digest | undefined;
  tagsOf(id: Digest): string[];
  allTags(): { name: string; id: Digest }[];

  addRepoDigest(name: string, id: Digest): void;
  repoDigestsOf(id: Digest): string[];
  resolveRepoDigest(name: string): Digest | undefined;
}
