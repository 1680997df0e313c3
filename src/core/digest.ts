/**
 * Content digests ("sha256:<64 hex>"), as the OCI image spec defines them
 * (https://github.com/opencontainers/image-spec/blob/main/descriptor.md#digests).
 * Only `parseDigest` and `digestOf`/`Hasher` create a `Digest`.
 */
import { createHash, type Hash } from "node:crypto";
import { invalidParameter } from "./errors.ts";

export type Digest = string & { readonly __brand: "Digest" };

const SHA256 = /^sha256:[a-f0-9]{64}$/;
const ANY = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** Validates a digest string. Only sha256 is supported for storage. @throws invalid-parameter */
export function parseDigest(s: string): Digest {
  if (SHA256.test(s)) return s as Digest;
  if (ANY.test(s)) throw invalidParameter(`unsupported digest algorithm: ${s}`);
  throw invalidParameter(`invalid digest: ${JSON.stringify(s)}`);
}

export function isDigest(s: string): s is Digest {
  return SHA256.test(s);
}

export function digestOf(data: Uint8Array | string): Digest {
  return `sha256:${createHash("sha256").update(data).digest("hex")}` as Digest;
}

/** The hex part of a digest, used for file names. */
export function digestHex(d: Digest): string {
  return d.slice("sha256:".length);
}

/** Incremental hashing for streams. */
export class Hasher {
  readonly #hash: Hash = createHash("sha256");
  #size = 0;
  update(chunk: Uint8Array): void {
    this.#hash.update(chunk);
    this.#size += chunk.byteLength;
  }
  get size(): number {
    return this.#size;
  }
  digest(): Digest {
    return `sha256:${this.#hash.digest("hex")}` as Digest;
  }
}

/** Docker's short ID: the first 12 hex characters of a digest or ID. */
export function shortId(id: string): string {
  const hex = id.startsWith("sha256:") ? id.slice(7) : id;
  return hex.slice(0, 12);
}
