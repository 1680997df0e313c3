/**
 * The distribution-spec client (https://github.com/opencontainers/distribution-spec/blob/main/spec.md),
 * modelled on ggcr pkg/v1/remote: one object per engine, holding connection
 * pools, token caches and the keychain; every call takes an AbortSignal.
 *
 * Lifecycle: construct once, share, `close()` at the end (closes the
 * connection pools it created; an injected dispatcher is left alone).
 *
 * Invariants:
 * - Manifests fetched by digest are hashed and compared; the registry's
 *   Docker-Content-Digest header is never trusted.
 * - Blob bodies are returned as streams; callers verify them on commit
 *   (ContentWriter.commit with expected digest and size). A stream stops with
 *   data-loss as soon as it would exceed the descriptor's size.
 * - Requests are retried (bounded, exponential back-off with jitter, honouring
 *   Retry-After) on 5xx, 429 and connection resets/timeouts; a broken blob
 *   download resumes with `Range: bytes=<offset>-`.
 * - Every error leaving a public method is an EngineError (registry-error.ts),
 *   with credentials and upload state redacted.
 *
 * @throws not-found (manifest/blob/repository unknown), unauthorized, unavailable (retries exhausted, unreachable),
 *   data-loss (digest or size mismatch), invalid-parameter (oversized or unparsable manifest), cancelled
 */
import { Readable } from "node:stream";
import { rootCertificates } from "node:tls";
import { setTimeout as sleep } from "node:timers/promises";
import { Agent, request, type Dispatcher } from "undici";
import {
  cancelled,
  dataLoss,
  digestOf,
  invalidParameter,
  isEngineError,
  unauthorized,
  unavailable,
  type Descriptor,
  type Digest,
} from "../core/index.ts";
import { MediaTypes } from "../oci/index.ts";
import { parseChallenge, TokenCache, type Challenge } from "./auth-challenge.ts";
import { DockerConfigKeychain, type Credentials, type Keychain } from "./keychain.ts";
import { MAX_ERROR_BODY, RegistryError, parseErrorBody, redactUrl, toEngineError, type ErrorContext } from "./registry-error.ts";
import { canonicalHost, DOCKER_HUB, endpointsFor, type Endpoint, type RegistryConfig } from "./registry-hosts.ts";

/**
 * The parts of an image reference this module needs; structurally the same
 * as `Reference` from oci/reference.ts (domain "docker.io", path "library/node").
 */
export interface RepoRef {
  readonly domain: string;
  readonly path: string;
  readonly tag?: string;
  readonly digest?: string;
}

/** Manifest media types we ask for, best first. Schema 1 is accepted only to report it clearly. */
export const MANIFEST_ACCEPT: readonly string[] = [
  MediaTypes.ociIndex,
  MediaTypes.dockerManifestList,
  MediaTypes.ociManifest,
  MediaTypes.dockerManifest,
  MediaTypes.dockerSchema1Signed,
  MediaTypes.dockerSchema1,
];

/** Manifests larger than this are refused (ggcr and containerd use 4 MiB). */
export const MAX_MANIFEST_SIZE = 4 * 1024 * 1024;

export interface RetryPolicy {
  /** Total attempts per request, including the first. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export interface RegistryClientOptions {
  readonly config: RegistryConfig;
  readonly userAgent?: string;
  /** Used for every request instead of per-host pools (then certsDir TLS material is not applied). */
  readonly dispatcher?: Dispatcher;
  /** Default: DockerConfigKeychain on config.dockerConfigPath. */
  readonly keychain?: Keychain;
  readonly retry?: Partial<RetryPolicy>;
  /** headersMs: time to the response head; bodyMs: longest silence inside a body (a stalled download). */
  readonly timeouts?: { readonly headersMs?: number; readonly bodyMs?: number };
  /** Blobs larger than this are uploaded in PATCH chunks of this size (default 16 MiB). */
  readonly chunkSize?: number;
}

interface Req {
  readonly method: "GET" | "HEAD" | "PUT" | "POST" | "PATCH" | "DELETE";
  /** "/v2/..." relative to the endpoint, or an absolute URL (upload locations). */
  readonly url: string;
  readonly headers?: Record<string, string>;
  /** Called for each attempt (bodies are re-created on retry). */
  readonly body?: () => Promise<Buffer | Readable> | Buffer | Readable;
  /** Token scopes, e.g. ["repository:library/node:pull"]. */
  readonly scopes: readonly string[];
  /** Statuses that count as success; others become RegistryError. */
  readonly ok: readonly number[];
  readonly signal?: AbortSignal | undefined;
  /** Whether a failed attempt may be repeated (false for non-replayable bodies). */
  readonly retry?: boolean;
}

type Res = Dispatcher.ResponseData;

const RETRYABLE_NET = new Set([
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_RES_CONTENT_LENGTH_MISMATCH",
  "EAI_AGAIN",
  "ERR_STREAM_PREMATURE_CLOSE",
]);

function errCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 4 && typeof cur === "object" && cur !== null; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === "string" && !code.startsWith("ENGINE_")) return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/** A connection-level failure worth repeating (reset, timeout, premature close). */
export function isRetryableNetworkError(e: unknown): boolean {
  const code = errCode(e);
  return code !== undefined && RETRYABLE_NET.has(code);
}

class TruncatedError extends Error {
  readonly code = "UND_ERR_SOCKET";
}

/** "docker.io/library/node" → "node"; "127.0.0.1:5000/x" stays. */
export function familiarRepo(ref: RepoRef): string {
  if (canonicalHost(ref.domain) !== DOCKER_HUB) return `${ref.domain}/${ref.path}`;
  return ref.path.startsWith("library/") && ref.path.split("/").length === 2 ? ref.path.slice(8) : ref.path;
}

export function familiarRef(ref: RepoRef): string {
  const base = familiarRepo(ref);
  if (ref.digest) return `${base}@${ref.digest}`;
  return `${base}:${ref.tag ?? "latest"}`;
}

async function readCapped(body: Dispatcher.ResponseData["body"], max: number): Promise<Buffer | undefined> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of body) {
    const b = chunk as Buffer;
    n += b.length;
    if (n > max) {
      body.destroy();
      return undefined;
    }
    parts.push(b);
  }
  return Buffer.concat(parts, n);
}

async function discard(res: Res): Promise<void> {
  try {
    await res.body.dump({ limit: 256 * 1024 });
  } catch {
    /* connection goes away; nothing to keep */
  }
}

function header(res: Res, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export class RegistryClient {
  readonly config: RegistryConfig;
  readonly userAgent: string;
  readonly #dispatcher: Dispatcher | undefined;
  readonly #agents = new Map<string, Agent>();
  readonly #keychain: Keychain;
  readonly #retry: RetryPolicy;
  readonly #headersMs: number;
  readonly #bodyMs: number;
  readonly chunkSize: number;
  readonly #challenges = new Map<string, Challenge>();
  readonly #tokens = new TokenCache();
  readonly #creds = new Map<string, Promise<Credentials | undefined>>();
  /** Repository key → the endpoint base that last served it (mirror stickiness). */
  readonly #preferred = new Map<string, string>();

  constructor(o: RegistryClientOptions) {
    this.config = o.config;
    this.userAgent = o.userAgent ?? "berth/0.1";
    this.#dispatcher = o.dispatcher;
    this.#keychain =
      o.keychain ?? new DockerConfigKeychain(o.config.dockerConfigPath ? { path: o.config.dockerConfigPath } : {});
    this.#retry = { attempts: 5, baseDelayMs: 200, maxDelayMs: 10_000, ...o.retry };
    this.#headersMs = o.timeouts?.headersMs ?? 60_000;
    this.#bodyMs = o.timeouts?.bodyMs ?? 60_000;
    this.chunkSize = o.chunkSize ?? 16 * 1024 * 1024;
  }

  /** Closes the connection pools this client created. */
  async close(): Promise<void> {
    const agents = [...this.#agents.values()];
    this.#agents.clear();
    await Promise.all(agents.map((a) => a.close()));
  }

  // ---------------------------------------------------------------- pull side

  /**
   * Fetches the manifest (or index) a reference names, by digest if it has one,
   * else by tag (default "latest"). Pulls go to mirrors first.
   * @returns the descriptor (digest computed from the body), the raw bytes, and the host that answered.
   * @throws not-found, unauthorized, unavailable, data-loss (digest mismatch), invalid-parameter (too large)
   */
  async resolve(
    ref: RepoRef,
    o: { signal?: AbortSignal; accept?: readonly string[] } = {},
  ): Promise<{ descriptor: Descriptor; raw: Buffer; registry: string }> {
    const ctx: ErrorContext = { op: "pull", repo: familiarRepo(ref), ref: familiarRef(ref) };
    const reference = ref.digest ?? ref.tag ?? "latest";
    try {
      return await this.#onEndpoints(ref, true, o.signal, async (ep) => {
        const res = await this.#send(ep, {
          method: "GET",
          url: `/v2/${ref.path}/manifests/${reference}`,
          headers: { accept: (o.accept ?? MANIFEST_ACCEPT).join(", ") },
          scopes: [`repository:${ref.path}:pull`],
          ok: [200],
          signal: o.signal,
        });
        const length = Number(header(res, "content-length") ?? "0");
        if (length > MAX_MANIFEST_SIZE) {
          res.body.destroy();
          throw invalidParameter(`manifest for ${ctx.ref} is ${length} bytes, more than the ${MAX_MANIFEST_SIZE} allowed`);
        }
        const raw = await readCapped(res.body, MAX_MANIFEST_SIZE);
        if (raw === undefined) throw invalidParameter(`manifest for ${ctx.ref} exceeds ${MAX_MANIFEST_SIZE} bytes`);
        const digest = digestOf(raw);
        if (ref.digest !== undefined && ref.digest !== digest)
          throw dataLoss(`manifest for ${ctx.ref}: digest mismatch: got ${digest}`, { detail: { expected: ref.digest, actual: digest } });
        const mediaType = manifestMediaType(raw, header(res, "content-type"));
        return { descriptor: { mediaType, digest, size: raw.length }, raw, registry: ep.host };
      });
    } catch (e) {
      throw toEngineError(e, ctx);
    }
  }

  /**
   * Streams a blob. Broken or stalled downloads resume with a Range request
   * (or by skipping already-delivered bytes if the registry ignores Range).
   * The stream fails with data-loss if the registry sends more than desc.size.
   * The caller verifies the digest (ContentWriter.commit).
   */
  async fetchBlob(repo: RepoRef, desc: Descriptor, o: { signal?: AbortSignal; offset?: number } = {}): Promise<Readable> {
    const ctx: ErrorContext = { op: "pull", repo: familiarRepo(repo) };
    try {
      // Open the first response eagerly so not-found/unauthorized surface here, not mid-stream.
      const first = await this.#openBlob(repo, desc, o.offset ?? 0, o.signal);
      return Readable.from(this.#blobChunks(repo, desc, o.offset ?? 0, first, o.signal, ctx), { objectMode: false });
    } catch (e) {
      throw toEngineError(e, ctx);
    }
  }

  async #openBlob(repo: RepoRef, desc: Descriptor, offset: number, signal: AbortSignal | undefined): Promise<{ res: Res; skip: number }> {
    return this.#onEndpoints(repo, true, signal, async (ep) => {
      const res = await this.#send(ep, {
        method: "GET",
        url: `/v2/${repo.path}/blobs/${desc.digest}`,
        headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
        scopes: [`repository:${repo.path}:pull`],
        ok: [200, 206],
        signal,
      });
      // A 200 to a Range request carries the whole blob: skip what we already have.
      return { res, skip: offset > 0 && res.statusCode === 200 ? offset : 0 };
    });
  }

  async *#blobChunks(
    repo: RepoRef,
    desc: Descriptor,
    start: number,
    first: { res: Res; skip: number },
    signal: AbortSignal | undefined,
    ctx: ErrorContext,
  ): AsyncGenerator<Buffer> {
    let offset = start;
    let cur: { res: Res; skip: number } | undefined = first;
    let failures = 0;
    for (;;) {
      try {
        cur ??= await this.#openBlob(repo, desc, offset, signal);
        let skip = cur.skip;
        for await (const c of cur.res.body) {
          let chunk = c as Buffer;
          if (skip > 0) {
            const drop = Math.min(skip, chunk.length);
            skip -= drop;
            chunk = chunk.subarray(drop);
            if (chunk.length === 0) continue;
          }
          offset += chunk.length;
          if (offset > desc.size)
            throw dataLoss(`blob ${desc.digest}: registry sent more than the expected ${desc.size} bytes`);
          failures = 0;
          yield chunk;
        }
        if (offset < desc.size) throw new TruncatedError(`blob ${desc.digest}: body ended at ${offset} of ${desc.size} bytes`);
        return;
      } catch (e) {
        cur?.res.body.destroy();
        cur = undefined;
        if (signal?.aborted) throw cancelled("operation cancelled", { cause: signal.reason });
        if (isEngineError(e) || !isRetryableNetworkError(e) || ++failures >= this.#retry.attempts) throw toEngineError(e, ctx);
        await this.#backoff(failures, undefined, signal);
      }
    }
  }

  // ---------------------------------------------------------------- push side

  /** HEAD /v2/<repo>/blobs/<digest>. */
  async blobExists(repo: RepoRef, digest: Digest, o: { signal?: AbortSignal } = {}): Promise<boolean> {
    const ctx: ErrorContext = { op: "push", repo: familiarRepo(repo) };
    try {
      const ep = this.#pushEndpoint(repo);
      const res = await this.#send(ep, {
        method: "HEAD",
        url: `/v2/${repo.path}/blobs/${digest}`,
        scopes: [`repository:${repo.path}:pull,push`],
        ok: [200, 404],
        signal: o.signal,
      });
      await discard(res);
      return res.statusCode === 200;
    } catch (e) {
      throw toEngineError(e, ctx);
    }
  }

  /**
   * Cross-repository mount (POST ...?mount=<digest>&from=<repo>). `mounted`
   * false means the registry opened an upload session instead (its URL in `location`).
   */
  async mountBlob(
    repo: RepoRef,
    digest: Digest,
    fromPath: string,
    o: { signal?: AbortSignal } = {},
  ): Promise<{ mounted: true } | { mounted: false; location: string }> {
    const ctx: ErrorContext = { op: "push", repo: familiarRepo(repo) };
    try {
      const ep = this.#pushEndpoint(repo);
      const q = new URLSearchParams({ mount: digest, from: fromPath });
      const res = await this.#send(ep, {
        method: "POST",
        url: `/v2/${repo.path}/blobs/uploads/?${q}`,
        scopes: [`repository:${repo.path}:pull,push`, `repository:${fromPath}:pull`],
        ok: [201, 202],
        signal: o.signal,
      });
      await discard(res);
      if (res.statusCode === 201) return { mounted: true };
      return { mounted: false, location: this.#location(ep, res) };
    } catch (e) {
      throw toEngineError(e, ctx);
    }
  }

  /**
   * Uploads a blob: one PUT when it fits in `chunkSize`, else PATCH chunks then
   * a closing PUT. `open` is called again if the upload has to restart.
   * @throws data-loss when the registry rejects the digest
   */
  async uploadBlob(
    repo: RepoRef,
    desc: Descriptor,
    open: () => Promise<Readable>,
    o: { signal?: AbortSignal; location?: string; onProgress?: (sent: number) => void } = {},
  ): Promise<void> {
    const ctx: ErrorContext = { op: "push", repo: familiarRepo(repo) };
    const ep = this.#pushEndpoint(repo);
    let location = o.location;
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          location ??= await this.#startUpload(ep, repo, o.signal);
          if (desc.size <= this.chunkSize) await this.#uploadMonolithic(ep, repo, desc, location, open, o);
          else await this.#uploadChunked(ep, repo, desc, location, open, o);
          return;
        } catch (e) {
          location = undefined;
          const temporary = (e instanceof RegistryError && e.temporary) || isRetryableNetworkError(e);
          if (!temporary || attempt >= this.#retry.attempts || o.signal?.aborted) throw e;
          await this.#backoff(attempt, undefined, o.signal);
        }
      }
    } catch (e) {
      throw toEngineError(e, ctx);
    }
  }

  async #startUpload(ep: Endpoint, repo: RepoRef, signal: AbortSignal | undefined): Promise<string> {
    const res = await this.#send(ep, {
      method: "POST",
      url: `/v2/${repo.path}/blobs/uploads/`,
      headers: { "content-length": "0" },
      scopes: [`repository:${repo.path}:pull,push`],
      ok: [202],
      signal,
    });
    await discard(res);
    return this.#location(ep, res);
  }

  async #uploadMonolithic(
    ep: Endpoint,
    repo: RepoRef,
    desc: Descriptor,
    location: string,
    open: () => Promise<Readable>,
    o: { signal?: AbortSignal; onProgress?: (sent: number) => void },
  ): Promise<void> {
    const url = withQuery(location, { digest: desc.digest });
    const res = await this.#send(ep, {
      method: "PUT",
      url,
      headers: { "content-type": "application/octet-stream", "content-length": String(desc.size) },
      body: async () => {
        const src = await open();
        return Readable.from(counted(src, o.onProgress), { objectMode: false });
      },
      scopes: [`repository:${repo.path}:pull,push`],
      ok: [201, 204],
      signal: o.signal,
      retry: false,
    });
    await discard(res);
  }

  async #uploadChunked(
    ep: Endpoint,
    repo: RepoRef,
    desc: Descriptor,
    location: string,
    open: () => Promise<Readable>,
    o: { signal?: AbortSignal; onProgress?: (sent: number) => void },
  ): Promise<void> {
    let loc = location;
    let sent = 0;
    const src = await open();
    try {
      for await (const chunk of rechunk(src, this.chunkSize)) {
        const start = sent;
        const res = await this.#send(ep, {
          method: "PATCH",
          url: loc,
          headers: {
            "content-type": "application/octet-stream",
            "content-length": String(chunk.length),
            "content-range": `${start}-${start + chunk.length - 1}`,
          },
          body: () => chunk,
          scopes: [`repository:${repo.path}:pull,push`],
          ok: [202],
          signal: o.signal,
          retry: false,
        });
        await discard(res);
        loc = this.#location(ep, res);
        sent += chunk.length;
        o.onProgress?.(sent);
      }
    } finally {
      src.destroy();
    }
    if (sent !== desc.size) throw dataLoss(`blob ${desc.digest}: read ${sent} bytes from the store, expected ${desc.size}`);
    const res = await this.#send(ep, {
      method: "PUT",
      url: withQuery(loc, { digest: desc.digest }),
      headers: { "content-length": "0" },
      scopes: [`repository:${repo.path}:pull,push`],
      ok: [201, 204],
      signal: o.signal,
      retry: false,
    });
    await discard(res);
  }

  /** PUT /v2/<repo>/manifests/<tag|digest>. Returns the digest of `raw`. */
  async putManifest(
    repo: RepoRef,
    reference: string,
    raw: Uint8Array,
    mediaType: string,
    o: { signal?: AbortSignal } = {},
  ): Promise<Digest> {
    const ctx: ErrorContext = { op: "push", repo: familiarRepo(repo) };
    try {
      const ep = this.#pushEndpoint(repo);
      const res = await this.#send(ep, {
        method: "PUT",
        url: `/v2/${repo.path}/manifests/${reference}`,
        headers: { "content-type": mediaType, "content-length": String(raw.byteLength) },
        body: () => Buffer.from(raw),
        scopes: [`repository:${repo.path}:pull,push`],
        ok: [201, 200, 204],
        signal: o.signal,
      });
      await discard(res);
      return digestOf(raw);
    } catch (e) {
      throw toEngineError(e, ctx);
    }
  }

  /** GET /v2/<repo>/tags/list, following `Link: <...>; rel="next"` pages. */
  async listTags(repo: RepoRef, o: { signal?: AbortSignal } = {}): Promise<string[]> {
    const ctx: ErrorContext = { op: "tags", repo: familiarRepo(repo) };
    try {
      return await this.#onEndpoints(repo, true, o.signal, async (ep) => {
        const tags: string[] = [];
        let url: string | undefined = `/v2/${repo.path}/tags/list`;
        for (let page = 0; url !== undefined && page < 1000; page++) {
          const res = await this.#send(ep, { method: "GET", url, scopes: [`repository:${repo.path}:pull`], ok: [200], signal: o.signal });
          const raw = await readCapped(res.body, MAX_MANIFEST_SIZE);
          if (raw === undefined) throw invalidParameter("tag list too large");
          const v = JSON.parse(raw.toString("utf8")) as { tags?: unknown };
          if (Array.isArray(v.tags)) for (const t of v.tags) if (typeof t === "string") tags.push(t);
          const next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(header(res, "link") ?? "");
          url = next?.[1] ? new URL(next[1], ep.base).toString() : undefined;
        }
        return tags;
      });
    } catch (e) {
      throw toEngineError(e, ctx);
    }
  }

  /**
   * GET /v2/ with the given credentials, running the token flow if the
   * registry asks for it. Used by `login`. @throws unauthorized, unavailable
   */
  async ping(registryHost: string, o: { credentials?: Credentials; signal?: AbortSignal } = {}): Promise<void> {
    const ep = endpointsFor(registryHost, this.config, { mirrors: false })[0];
    if (ep === undefined) throw unavailable(`no endpoint for ${registryHost}`);
    const ctx: ErrorContext = { op: "login", repo: registryHost };
    try {
      const res = await this.#send(ep, { method: "GET", url: "/v2/", scopes: [], ok: [200], signal: o.signal, credentials: o.credentials ?? null });
      await discard(res);
    } catch (e) {
      if (e instanceof RegistryError && (e.status === 401 || e.status === 403))
        throw unauthorized(`login to ${registryHost}: ${e.diagnostics[0]?.message ?? "unauthorized: incorrect username or password"}`, { cause: e });
      throw toEngineError(e, ctx);
    }
  }

  // ---------------------------------------------------------------- transport

  #pushEndpoint(repo: RepoRef): Endpoint {
    const ep = endpointsFor(repo.domain, this.config, { mirrors: false })[0];
    if (ep === undefined) throw unavailable(`no endpoint for ${repo.domain}`);
    return ep;
  }

  /** Runs `fn` on each endpoint (preferred first) until one succeeds; rethrows the upstream's error. */
  async #onEndpoints<T>(ref: RepoRef, mirrors: boolean, signal: AbortSignal | undefined, fn: (ep: Endpoint) => Promise<T>): Promise<T> {
    const key = `${canonicalHost(ref.domain)}/${ref.path}`;
    const eps = endpointsFor(ref.domain, this.config, { mirrors });
    const pref = this.#preferred.get(key);
    if (pref !== undefined) eps.sort((a, b) => (a.base === pref ? -1 : b.base === pref ? 1 : 0));
    let last: unknown;
    for (const ep of eps) {
      if (signal?.aborted) throw cancelled("operation cancelled", { cause: signal.reason });
      try {
        const v = await fn(ep);
        if (eps.length > 1) this.#preferred.set(key, ep.base);
        return v;
      } catch (e) {
        // Digest mismatches and cancellation are final; anything else may work on the next endpoint.
        if (signal?.aborted || (isEngineError(e) && (e.kind === "data-loss" || e.kind === "cancelled"))) throw e;
        last = e;
      }
    }
    throw last;
  }

  #dispatcherFor(ep: Endpoint): Dispatcher {
    if (this.#dispatcher !== undefined) return this.#dispatcher;
    let a = this.#agents.get(ep.base);
    if (a === undefined) {
      const connect: Record<string, unknown> = {};
      if (ep.tls?.ca) connect["ca"] = [...rootCertificates, ...ep.tls.ca];
      if (ep.tls?.cert) connect["cert"] = ep.tls.cert;
      if (ep.tls?.key) connect["key"] = ep.tls.key;
      a = new Agent({ connections: 8, keepAliveTimeout: 10_000, connect });
      this.#agents.set(ep.base, a);
    }
    return a;
  }

  #location(ep: Endpoint, res: Res): string {
    const loc = header(res, "location");
    if (!loc) throw new RegistryError({ status: res.statusCode, diagnostics: [{ code: "UNKNOWN", message: "response has no Location header" }], method: "POST", url: ep.base });
    return new URL(loc, ep.base).toString();
  }

  async #backoff(attempt: number, retryAfter: string | undefined, signal: AbortSignal | undefined): Promise<void> {
    let ms = Math.min(this.#retry.maxDelayMs, this.#retry.baseDelayMs * 2 ** (attempt - 1));
    ms = ms / 2 + Math.random() * (ms / 2);
    if (retryAfter !== undefined) {
      const secs = Number(retryAfter);
      const at = Number.isFinite(secs) ? secs * 1000 : Date.parse(retryAfter) - Date.now();
      if (Number.isFinite(at) && at > 0) ms = Math.min(Math.max(ms, at), 60_000);
    }
    try {
      await sleep(ms, undefined, signal ? { signal } : {});
    } catch (e) {
      throw cancelled("operation cancelled", { cause: signal?.reason ?? e });
    }
  }

  /** Keychain answers are cached per host for the client's lifetime (helpers are slow). */
  #credentials(ep: Endpoint): Promise<Credentials | undefined> {
    let p = this.#creds.get(ep.host);
    if (p === undefined) {
      p = this.#keychain.resolve(ep.host);
      this.#creds.set(ep.host, p);
      p.catch(() => this.#creds.delete(ep.host));
    }
    return p;
  }

  /** The Authorization header for a request, from the host's last challenge. */
  async #authorization(
    ep: Endpoint,
    scopes: readonly string[],
    creds: Credentials | undefined,
    signal: AbortSignal | undefined,
    fresh: boolean,
  ): Promise<string | undefined> {
    const ch = this.#challenges.get(ep.host);
    if (ch === undefined) return undefined;
    if (ch.scheme === "basic") return creds ? `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString("base64")}` : undefined;
    const realm = ch.params["realm"];
    if (!realm) return undefined;
    const service = ch.params["service"] ?? "";
    const all = [...new Set([...scopes, ...(ch.params["scope"] && scopes.length === 0 ? [ch.params["scope"]] : [])])];
    const key = TokenCache.key(realm, service, all) + (creds ? `\n${creds.username}` : "");
    if (!fresh) {
      const cached = this.#tokens.get(key);
      if (cached !== undefined) return `Bearer ${cached}`;
    }
    const url = new URL(realm);
    if (service) url.searchParams.set("service", service);
    for (const s of all) url.searchParams.append("scope", s);
    if (creds?.username) url.searchParams.set("account", creds.username);
    const headers: Record<string, string> = { "user-agent": this.userAgent };
    if (creds) headers["authorization"] = `Basic ${Buffer.from(`${creds.username}:${creds.identityToken ?? creds.password}`).toString("base64")}`;
    const tokenEp: Endpoint = { base: url.origin, host: url.host, mirror: false, ...(ep.tls ? { tls: ep.tls } : {}) };
    let res: Res;
    try {
      res = await request(url, {
        method: "GET",
        headers,
        dispatcher: this.#dispatcherFor(tokenEp),
        headersTimeout: this.#headersMs,
        bodyTimeout: this.#bodyMs,
        ...(signal ? { signal } : {}),
      });
    } catch (e) {
      if (signal?.aborted) throw cancelled("operation cancelled", { cause: signal.reason });
      throw unavailable(`token request to ${redactUrl(url.origin + url.pathname)}: ${(e as Error).message}`, { cause: e });
    }
    const body = (await readCapped(res.body, MAX_ERROR_BODY)) ?? Buffer.alloc(0);
    if (res.statusCode !== 200) {
      const err = new RegistryError({ status: res.statusCode, diagnostics: parseErrorBody(body.toString("utf8")), method: "GET", url: redactUrl(`${url.origin}${url.pathname}`) });
      if (res.statusCode === 401 || res.statusCode === 403)
        throw unauthorized(`getting a token from ${url.host}: ${err.diagnostics[0]?.message ?? "unauthorized: incorrect username or password"}`, { cause: err });
      throw err;
    }
    let v: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      v = JSON.parse(body.toString("utf8")) as typeof v;
    } catch (e) {
      throw unavailable(`token response from ${url.host} is not JSON`, { cause: e });
    }
    const token = typeof v.token === "string" && v.token ? v.token : typeof v.access_token === "string" ? v.access_token : "";
    if (!token) throw unavailable(`token response from ${url.host} has no token`);
    this.#tokens.set(key, token, typeof v.expires_in === "number" ? v.expires_in : undefined);
    return `Bearer ${token}`;
  }

  /**
   * One logical request: authorization, retries with back-off, manual
   * redirects (Authorization is dropped when the origin changes), errors
   * parsed into RegistryError. The caller consumes or discards the body.
   */
  async #send(ep: Endpoint, req: Req & { credentials?: Credentials | null }): Promise<Res> {
    const creds = req.credentials === null ? undefined : (req.credentials ?? (await this.#credentials(ep)));
    let url = new URL(req.url, ep.base);
    let authRetried = false;
    let freshToken = false;
    let redirects = 0;
    let sameOrigin = true;
    const retryable = req.retry ?? true;
    for (let attempt = 1; ; ) {
      if (req.signal?.aborted) throw cancelled("operation cancelled", { cause: req.signal.reason });
      const headers: Record<string, string> = { "user-agent": this.userAgent, ...req.headers };
      if (sameOrigin) {
        const auth = await this.#authorization(ep, req.scopes, creds, req.signal, freshToken);
        if (auth) headers["authorization"] = auth;
      }
      let res: Res;
      try {
        res = await request(url, {
          method: req.method,
          headers,
          body: req.body ? await req.body() : null,
          dispatcher: this.#dispatcherFor(sameOrigin ? ep : { base: url.origin, host: url.host, mirror: false }),
          headersTimeout: this.#headersMs,
          bodyTimeout: this.#bodyMs,
          ...(req.signal ? { signal: req.signal } : {}),
        });
      } catch (e) {
        if (req.signal?.aborted) throw cancelled("operation cancelled", { cause: req.signal.reason });
        if (retryable && isRetryableNetworkError(e) && attempt < this.#retry.attempts) {
          await this.#backoff(attempt++, undefined, req.signal);
          continue;
        }
        const code = errCode(e);
        throw unavailable(`${req.method} ${redactUrl(url)}: ${(e as Error).message}${code ? ` (${code})` : ""}`, { cause: e });
      }
      const status = res.statusCode;
      if (req.ok.includes(status)) return res;
      if (status === 401 && !authRetried && sameOrigin) {
        const ch = parseChallenge(res.headers["www-authenticate"]);
        await discard(res);
        if (ch !== undefined && (ch.scheme === "bearer" || creds !== undefined)) {
          this.#challenges.set(ep.host, ch);
          authRetried = true;
          freshToken = true;
          continue;
        }
        throw new RegistryError({ status, diagnostics: [{ code: "UNAUTHORIZED", message: "authentication required" }], method: req.method, url: redactUrl(url) });
      }
      if ([301, 302, 303, 307, 308].includes(status) && (req.method === "GET" || req.method === "HEAD") && redirects < 5) {
        const loc = header(res, "location");
        await discard(res);
        if (loc) {
          const next = new URL(loc, url);
          sameOrigin = sameOrigin && next.origin === url.origin;
          url = next;
          redirects++;
          continue;
        }
      }
      const text = req.method === "HEAD" ? "" : ((await readCapped(res.body, MAX_ERROR_BODY).catch(() => undefined))?.toString("utf8") ?? "");
      if (req.method === "HEAD" || text === "") await discard(res);
      const err = new RegistryError({ status, diagnostics: parseErrorBody(text), method: req.method, url: redactUrl(url), statusText: "" });
      if (retryable && err.temporary && attempt < this.#retry.attempts) {
        await this.#backoff(attempt++, header(res, "retry-after"), req.signal);
        continue;
      }
      throw err;
    }
  }
}

/** Media type of a manifest body: its own mediaType field, else Content-Type, else by shape. */
export function manifestMediaType(raw: Buffer, contentType: string | undefined): string {
  let v: { mediaType?: unknown; schemaVersion?: unknown; manifests?: unknown; signatures?: unknown } = {};
  try {
    v = JSON.parse(raw.toString("utf8")) as typeof v;
  } catch (e) {
    throw invalidParameter("manifest is not valid JSON", { cause: e });
  }
  if (typeof v !== "object" || v === null) throw invalidParameter("manifest is not a JSON object");
  if (v.schemaVersion === 1) return Array.isArray(v.signatures) ? MediaTypes.dockerSchema1Signed : MediaTypes.dockerSchema1;
  if (typeof v.mediaType === "string" && v.mediaType) return v.mediaType;
  const ct = contentType?.split(";")[0]?.trim();
  if (ct && ct !== "application/json" && ct !== "text/plain") return ct;
  return Array.isArray(v.manifests) ? MediaTypes.ociIndex : MediaTypes.ociManifest;
}

function withQuery(url: string, params: Record<string, string>): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.toString();
}

/** Passes chunks through, reporting the running byte count. */
async function* counted(src: AsyncIterable<Uint8Array>, onProgress: ((sent: number) => void) | undefined): AsyncGenerator<Uint8Array> {
  let sent = 0;
  for await (const c of src) {
    sent += c.byteLength;
    onProgress?.(sent);
    yield c;
  }
}

/** Re-slices a stream into buffers of exactly `size` bytes (the last may be shorter). */
async function* rechunk(src: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let n = 0;
  for await (const c of src) {
    let b = Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    while (n + b.length >= size) {
      const take = size - n;
      parts.push(b.subarray(0, take));
      yield Buffer.concat(parts, size);
      parts = [];
      n = 0;
      b = b.subarray(take);
    }
    if (b.length > 0) {
      parts.push(Buffer.from(b));
      n += b.length;
    }
  }
  if (n > 0) yield Buffer.concat(parts, n);
}

