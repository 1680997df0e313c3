/**
 * The build context: a directory, or a tar (stdin) unpacked into a scratch
 * directory, seen through `.dockerignore`. Also finds the Dockerfile (-f: a
 * path outside the context, bytes, or a name inside a tar) and its own
 * `<Dockerfile>.dockerignore`, which takes precedence over the context's.
 *
 * Files excluded by .dockerignore are invisible to COPY/ADD: `walk` and
 * `lstat` skip them, and `resolveSources` says so when a source is excluded.
 * The checksums (`checksumSources`) cover path, type, mode, uid, gid, link
 * target and content, never mtimes: touching a file does not miss the cache.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat } from "node:fs/promises";
import { basename, dirname, join, posix, resolve } from "node:path";
import type { Readable } from "node:stream";
import { invalidParameter, notFound, throwIfAborted } from "../core/errors.ts";
import { applyLayer, decompress } from "../layers/index.ts";
import { IgnoreMatcher } from "./dockerignore.ts";

export interface ContextSource {
  /** Context directory (absolute). */
  readonly contextDir?: string;
  /** A tar of the context (`docker build - < ctx.tar`, gzip allowed). */
  readonly contextTar?: Readable;
  /**
   * The Dockerfile: bytes; or a path (for a directory context absolute or
   * relative to the process's cwd; for a tar context a name inside it).
   * Default: `Dockerfile` in the context.
   */
  readonly dockerfile?: string | Uint8Array;
  /** Where scratch directories go (same filesystem as the berth root). */
  readonly tmpDir: string;
  readonly signal?: AbortSignal;
}

export interface BuildContext {
  readonly dir: string;
  readonly ignore: IgnoreMatcher;
  /** Where the context came from: a path, or "stdin". For cache slots and messages. */
  readonly identity: string;
  readonly dockerfile: Uint8Array;
  /** The Dockerfile's name as BuildKit shows it (`Dockerfile`, `build/app.Dockerfile`). */
  readonly dockerfileName: string;
  /** Bytes of .dockerignore read (for the progress line). */
  readonly ignoreSize: number;
  cleanup(): Promise<void>;
}

async function readIfExists(p: string): Promise<Buffer | undefined> {
  try {
    return await readFile(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw err;
  }
}

/** Opens a build context. @throws not-found for a missing context or Dockerfile; invalid-parameter for a bad tar */
export async function openContext(o: ContextSource): Promise<BuildContext> {
  let dir: string;
  let scratch: string | undefined;
  let identity: string;
  if (o.contextTar !== undefined) {
    await mkdir(o.tmpDir, { recursive: true });
    scratch = await mkdtemp(join(o.tmpDir, "build-context-"));
    dir = scratch;
    identity = "stdin";
    try {
      await applyLayer(decompress(o.contextTar, o.signal === undefined ? {} : { signal: o.signal }), dir, { mode: "import", ...(o.signal === undefined ? {} : { signal: o.signal }) });
    } catch (err) {
      await rm(scratch, { recursive: true, force: true });
      throw err;
    }
  } else {
    if (o.contextDir === undefined) throw invalidParameter("a build context (directory or tar) is required");
    dir = resolve(o.contextDir);
    identity = dir;
    const st = await stat(dir).catch(() => undefined);
    if (st === undefined) throw notFound(`unable to prepare context: path "${o.contextDir}" not found`);
    if (!st.isDirectory()) throw invalidParameter(`unable to prepare context: context must be a directory: ${o.contextDir}`);
  }
  const cleanup = async (): Promise<void> => {
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  };
  try {
    let dockerfile: Uint8Array | undefined;
    let dockerfileName = "Dockerfile";
    let dockerfilePath: string | undefined;
    if (o.dockerfile instanceof Uint8Array) {
      dockerfile = o.dockerfile;
    } else {
      const name = o.dockerfile ?? "Dockerfile";
      if (scratch !== undefined) {
        const rel = posix.normalize(name).replace(/^\/+/, "");
        dockerfilePath = join(dir, rel);
        dockerfileName = rel;
      } else {
        dockerfilePath = o.dockerfile === undefined ? join(dir, "Dockerfile") : resolve(name);
        dockerfileName = o.dockerfile === undefined ? "Dockerfile" : basename(name);
      }
      dockerfile = await readIfExists(dockerfilePath);
      if (dockerfile === undefined) {
        // Docker also accepts a lowercase "dockerfile" when none was named.
        if (o.dockerfile === undefined) dockerfile = await readIfExists(join(dir, "dockerfile"));
        if (dockerfile === undefined) throw notFound(`failed to read dockerfile: open ${dockerfileName}: no such file or directory`);
      }
    }
    let ignoreText: Buffer | undefined;
    if (dockerfilePath !== undefined) ignoreText = await readIfExists(join(dirname(dockerfilePath), `${basename(dockerfilePath)}.dockerignore`));
    ignoreText ??= await readIfExists(join(dir, ".dockerignore"));
    const ignore = IgnoreMatcher.fromText(ignoreText?.toString("utf8") ?? "");
    return { dir, ignore, identity, dockerfile, dockerfileName, ignoreSize: ignoreText?.length ?? 0, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** One entry under a source, relative to the source root ("" = the root). */
export interface WalkEntry {
  readonly rel: string;
  readonly host: string;
  readonly type: "file" | "dir" | "symlink" | "other";
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtime: Date;
}

export type PathFilter = (relToContext: string) => boolean;

function typeOf(st: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): WalkEntry["type"] {
  return st.isFile() ? "file" : st.isDirectory() ? "dir" : st.isSymbolicLink() ? "symlink" : "other";
}

/**
 * Walks `root` (a host path) depth-first in byte order, parents first.
 * `excluded(rel)` hides an entry (and, unless `descend(rel)` says an
 * exception may lie inside, its subtree). Symlinks are not followed.
 */
export async function walkTree(
  root: string,
  o: { excluded?: (rel: string) => boolean; descend?: (rel: string) => boolean; signal?: AbortSignal | undefined } = {},
): Promise<WalkEntry[]> {
  const out: WalkEntry[] = [];
  const visit = async (rel: string, host: string): Promise<void> => {
    throwIfAborted(o.signal);
    const st = await lstat(host);
    const hidden = rel !== "" && o.excluded?.(rel) === true;
    const t = typeOf(st);
    if (!hidden) out.push({ rel, host, type: t, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: st.size, mtime: st.mtime });
    if (t !== "dir") return;
    if (hidden && o.descend?.(rel) !== true) return;
    const names = (await readdir(host)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const n of names) await visit(rel === "" ? n : `${rel}/${n}`, join(host, n));
  };
  await visit("", root);
  return out;
}

/**
 * Checksums of the entries of a walk: `rel` → sha256 over type, mode, uid,
 * gid, link target, and content. Never mtimes.
 */
export async function checksumEntries(entries: readonly WalkEntry[], prefix: string, signal?: AbortSignal): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of entries) {
    throwIfAborted(signal);
    const h = createHash("sha256");
    h.update(`${e.type} ${e.mode.toString(8)} ${e.uid}:${e.gid}\n`);
    if (e.type === "file") {
      for await (const chunk of createReadStream(e.host)) h.update(chunk as Buffer);
    } else if (e.type === "symlink") {
      h.update(await readlink(e.host));
    }
    const key = prefix === "" ? e.rel : e.rel === "" ? prefix : `${prefix}/${e.rel}`;
    out[key === "" ? "." : key] = h.digest("hex");
  }
  return out;
}

export function hasWildcard(p: string): boolean {
  return /[*?[]/.test(p);
}

/** A source selected in the context (or another root): its context-relative path and host path. */
export interface SelectedSource {
  readonly rel: string;
  readonly host: string;
  /** Whether it came from a wildcard (then the destination is always a directory). */
  readonly wildcard: boolean;
}

function matchComponent(pattern: string, name: string): boolean {
  let re = "^";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 1);
      if (end < 0) re += "\\[";
      else {
        re += `[${pattern.slice(i + 1, end).replace(/^!/, "^").replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else if (c === "\\" && i + 1 < pattern.length) re += `\\${pattern[++i]}`;
    else re += c.replace(/[.+^${}()|\]\\]/g, "\\$&");
  }
  return new RegExp(`${re}$`, "s").test(name);
}

/**
 * Resolves COPY/ADD sources against a root (the context dir, or a stage's
 * rootfs for --from). Paths are cleaned and made relative to the root (they
 * can never leave it); wildcards match per path component (Go filepath.Match
 * rules). `excluded` hides .dockerignore'd paths.
 * @throws not-found naming the source (and saying when .dockerignore excludes it)
 */
export async function resolveSources(
  root: string,
  sources: readonly string[],
  o: { excluded?: (rel: string) => boolean; what?: string } = {},
): Promise<SelectedSource[]> {
  const out: SelectedSource[] = [];
  for (const src of sources) {
    const clean = posix.normalize(`/${src}`).replace(/^\/+/, "");
    if (!hasWildcard(clean)) {
      const rel = clean === "" ? "" : clean;
      const host = rel === "" ? root : join(root, rel);
      const st = await lstat(host).catch(() => undefined);
      if (st === undefined) {
        throw notFound(`failed to compute cache key: failed to calculate checksum of ref: "/${rel}": not found`, { detail: { source: src } });
      }
      if (rel !== "" && o.excluded?.(rel) === true) {
        throw notFound(`failed to compute cache key: "/${rel}": not found: excluded by .dockerignore`, { detail: { source: src, excluded: true } });
      }
      out.push({ rel, host, wildcard: false });
      continue;
    }
    const parts = clean.split("/");
    let candidates = [""];
    for (const part of parts) {
      const next: string[] = [];
      for (const c of candidates) {
        const host = c === "" ? root : join(root, c);
        if (!hasWildcard(part)) {
          const rel = c === "" ? part : `${c}/${part}`;
          if (await lstat(join(root, rel)).catch(() => undefined)) next.push(rel);
          continue;
        }
        const st = await lstat(host).catch(() => undefined);
        if (st === undefined || !st.isDirectory()) continue;
        const names = (await readdir(host)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
        for (const n of names) if (matchComponent(part, n)) next.push(c === "" ? n : `${c}/${n}`);
      }
      candidates = next;
    }
    const visible = candidates.filter((c) => o.excluded?.(c) !== true);
    if (visible.length === 0) {
      const why = candidates.length > 0 ? ": excluded by .dockerignore" : "";
      throw notFound(`failed to compute cache key: failed to calculate checksum of ref: "/${clean}": not found${why}`, { detail: { source: src } });
    }
    for (const rel of visible) out.push({ rel, host: join(root, rel), wildcard: true });
  }
  return out;
}

