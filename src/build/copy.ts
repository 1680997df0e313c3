/**
 * COPY and ADD into a mounted root filesystem (the merged overlay of a build
 * step, whose upper dir becomes the layer). No container is involved.
 *
 * Destination rules (Dockerfile reference, BuildKit fileop copy):
 * - a relative destination is relative to WORKDIR;
 * - the destination is a directory when it ends in `/`, when there are
 *   several sources or a wildcard, or when it already is a directory in the
 *   image; otherwise a single file source is written *as* the destination;
 * - a directory source copies its contents (not the directory itself);
 *   with --parents the source's path below the context is kept;
 * - owner is 0:0 unless --chown (names resolved in the image's /etc/passwd
 *   and /etc/group); --chmod sets the mode of files and directories copied;
 *   directories created on the way get 0755 and the same owner;
 * - ADD of a local tar (gzip/zstd/plain) extracts it into the destination;
 *   ADD of a URL downloads it (mode 0600, --checksum verified).
 * Every path in the rootfs is resolved with secureJoin (symlinks are
 * followed as if the rootfs were `/`); the last component is never followed:
 * an existing file or symlink there is replaced, as Docker does.
 */
import { chmod, copyFile, lchown, lstat, lutimes, mkdir, open, readlink, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { createReadStream } from "node:fs";
import { posix } from "node:path";
import { Readable } from "node:stream";
import { invalidParameter, notFound, throwIfAborted } from "../core/errors.ts";
import { applyLayer, decompress } from "../layers/index.ts";
import { readRootfsFile, secureJoin } from "../runtime/secure-path.ts";
import { parseGroup, parsePasswd } from "../runtime/user.ts";
import { IgnoreMatcher } from "./dockerignore.ts";
import { walkTree, type SelectedSource, type WalkEntry } from "./context.ts";

export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

/**
 * Resolves `--chown=user[:group]` in the rootfs: numbers pass through, names
 * come from /etc/passwd and /etc/group; a user without a group takes the
 * user's primary group when the user is a name, else the same number.
 * @throws invalid-parameter `unable to find user x: no matching entries in passwd file`
 */
export async function resolveChown(rootfs: string, spec: string): Promise<Owner> {
  const [u = "", g] = spec.split(":", 2);
  const num = (s: string): number | undefined => (/^\d+$/.test(s) ? Number(s) : undefined);
  let uid = num(u);
  let gid: number | undefined;
  if (uid === undefined) {
    const pw = parsePasswd((await readRootfsFile(rootfs, "/etc/passwd")) ?? "").find((e) => e.name === u);
    if (pw === undefined) throw invalidParameter(`unable to convert uid/gid chown string to host mapping: can't find uid for user ${u}: no such user: ${u}`);
    uid = pw.uid;
    gid = pw.gid;
  }
  if (g !== undefined && g !== "") {
    gid = num(g);
    if (gid === undefined) {
      const gr = parseGroup((await readRootfsFile(rootfs, "/etc/group")) ?? "").find((e) => e.name === g);
      if (gr === undefined) throw invalidParameter(`unable to convert uid/gid chown string to host mapping: can't find gid for group ${g}: no such group: ${g}`);
      gid = gr.gid;
    }
  }
  return { uid, gid: gid ?? uid };
}

/** `--chmod`: octal only (BuildKit also accepts symbolic modes with the labs syntax). */
export function parseChmod(s: string): number {
  if (!/^[0-7]{3,4}$/.test(s)) throw invalidParameter(`invalid chmod parameter: ${s}: only octal modes are supported`);
  return parseInt(s, 8);
}

/** Creates the directories of `dir` (an image path) that are missing; returns the host path. */
export async function mkdirAllInRoot(rootfs: string, dir: string, owner: Owner, mode = 0o755): Promise<string> {
  const parts = posix.normalize(dir).split("/").filter((c) => c !== "");
  let cur = "/";
  let host = rootfs;
  for (const part of parts) {
    cur = posix.join(cur, part);
    host = await secureJoin(rootfs, cur);
    const st = await lstat(host).catch(() => undefined);
    if (st === undefined) {
      await mkdir(host, { mode });
      await chmod(host, mode);
      await lchown(host, owner.uid, owner.gid);
    } else if (!st.isDirectory()) {
      throw invalidParameter(`cannot copy to ${dir}: ${cur} is not a directory`);
    }
    cur = `/${posix.relative(rootfs, host)}`;
  }
  return host;
}

/** Host path for writing `path` (an image path): the parent resolved in the rootfs, the last component not followed. */
async function hostForWrite(rootfs: string, path: string, owner: Owner): Promise<string> {
  const clean = posix.normalize(path);
  const parent = await mkdirAllInRoot(rootfs, posix.dirname(clean), owner);
  return posix.join(parent, posix.basename(clean));
}

async function isDirInRoot(rootfs: string, path: string): Promise<boolean> {
  const host = await secureJoin(rootfs, path);
  const st = await lstat(host).catch(() => undefined);
  return st?.isDirectory() === true;
}

async function replaceable(host: string, wantDir: boolean): Promise<boolean> {
  const st = await lstat(host).catch(() => undefined);
  if (st === undefined) return true;
  if (st.isDirectory()) {
    if (wantDir) return false;
    throw invalidParameter(`cannot replace directory ${host} with a file`);
  }
  await rm(host, { force: true });
  return true;
}

interface WriteOptions {
  readonly owner: Owner;
  readonly chmod?: number | undefined;
}

async function writeEntry(rootfs: string, e: WalkEntry, dest: string, o: WriteOptions): Promise<void> {
  const host = await hostForWrite(rootfs, dest, o.owner);
  if (e.type === "dir") {
    const created = await replaceable(host, true);
    if (created) await mkdir(host);
    await chmod(host, o.chmod ?? e.mode);
    await lchown(host, o.owner.uid, o.owner.gid);
    await utimes(host, e.mtime, e.mtime);
  } else if (e.type === "file") {
    await replaceable(host, false);
    await copyFile(e.host, host);
    await chmod(host, o.chmod ?? e.mode);
    await lchown(host, o.owner.uid, o.owner.gid);
    await utimes(host, e.mtime, e.mtime);
  } else if (e.type === "symlink") {
    await replaceable(host, false);
    await symlink(await readlink(e.host), host);
    await lchown(host, o.owner.uid, o.owner.gid);
    await lutimes(host, e.mtime, e.mtime);
  }
  // sockets, fifos, devices: not copied (BuildKit copies them; contexts rarely hold any)
}

export interface CopyIntoOptions {
  readonly rootfs: string;
  /** Root the sources were resolved in (context dir or a stage's rootfs). */
  readonly srcRoot: string;
  readonly sources: readonly SelectedSource[];
  readonly heredocs?: readonly { path: string; data: string }[];
  /** Absolute image path, as written (a trailing `/` kept). */
  readonly dest: string;
  readonly owner: Owner;
  readonly chmod?: number | undefined;
  /** --exclude patterns, matched against paths relative to each source. */
  readonly exclude?: readonly string[];
  /** .dockerignore, for sources from the context (paths relative to the context). */
  readonly contextExcluded?: ((rel: string) => boolean) | undefined;
  readonly contextDescend?: ((rel: string) => boolean) | undefined;
  readonly parents?: boolean;
  /** ADD: extract local tar archives. */
  readonly extractArchives?: boolean;
  readonly signal?: AbortSignal | undefined;
}

/** Whether the copy treats `dest` as a directory (see module doc). */
export async function destIsDirectory(rootfs: string, dest: string, count: number, wildcard: boolean): Promise<boolean> {
  return dest.endsWith("/") || count > 1 || wildcard || (await isDirInRoot(rootfs, dest));
}

async function sniffArchive(host: string): Promise<boolean> {
  const fh = await open(host, "r");
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, 512, 0);
    if (bytesRead >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) return true;
    if (bytesRead >= 4 && buf.readUInt32LE(0) === 0xfd2fb528) return true;
    return bytesRead >= 262 && buf.subarray(257, 262).toString("latin1") === "ustar";
  } finally {
    await fh.close();
  }
}

/** Copies sources (and heredoc files) into the rootfs. */
export async function copyInto(o: CopyIntoOptions): Promise<void> {
  const heredocs = o.heredocs ?? [];
  const count = o.sources.length + heredocs.length;
  const wildcard = o.sources.some((s) => s.wildcard);
  const destDir = await destIsDirectory(o.rootfs, o.dest, count, wildcard);
  const dest = posix.normalize(o.dest);
  const exclude = o.exclude !== undefined && o.exclude.length > 0 ? new IgnoreMatcher(o.exclude) : undefined;
  if (destDir) await mkdirAllInRoot(o.rootfs, dest, o.owner);
  const w: WriteOptions = { owner: o.owner, chmod: o.chmod };

  for (const h of heredocs) {
    throwIfAborted(o.signal);
    const target = destDir ? posix.join(dest, h.path) : dest;
    const host = await hostForWrite(o.rootfs, target, o.owner);
    await replaceable(host, false);
    await writeFile(host, h.data);
    await chmod(host, o.chmod ?? 0o644);
    await lchown(host, o.owner.uid, o.owner.gid);
  }

  for (const src of o.sources) {
    throwIfAborted(o.signal);
    const entries = await walkTree(src.host, {
      excluded: (rel) => {
        if (exclude?.excludes(rel) === true) return true;
        const ctxRel = src.rel === "" ? rel : `${src.rel}/${rel}`;
        return o.contextExcluded?.(ctxRel) === true;
      },
      descend: (rel) => exclude?.mayHaveExceptionsUnder(rel) === true || o.contextDescend?.(src.rel === "" ? rel : `${src.rel}/${rel}`) === true,
      signal: o.signal,
    });
    const root = entries[0];
    if (root === undefined) continue;
    let base: string;
    if (o.parents === true) {
      base = posix.join(dest, root.type === "dir" ? src.rel : posix.dirname(src.rel));
      if (root.type !== "dir") base = posix.join(base, posix.basename(src.rel));
    } else if (root.type === "dir") {
      base = dest;
    } else {
      base = destDir ? posix.join(dest, posix.basename(src.host)) : dest;
    }
    if (root.type !== "dir") {
      if (o.extractArchives === true && root.type === "file" && (await sniffArchive(root.host))) {
        const target = await mkdirAllInRoot(o.rootfs, dest, o.owner);
        await applyLayer(decompress(createReadStream(root.host)), target, { mode: "import", ...(o.signal ? { signal: o.signal } : {}) });
        continue;
      }
      await writeEntry(o.rootfs, root, base, w);
      continue;
    }
    // A directory: its contents go under base (base itself gets the directory's metadata).
    for (const e of entries) {
      throwIfAborted(o.signal);
      if (e.rel === "") {
        if (o.parents === true || base !== "/") await writeEntry(o.rootfs, e, base, w);
        continue;
      }
      await writeEntry(o.rootfs, e, posix.join(base, e.rel), w);
    }
  }
}

/**
 * Downloads an ADD URL into `file` (host path), verifying `checksum`
 * (`sha256:<hex>`) when given. Returns the content digest and the name the
 * URL gives the file (its last path component).
 * @throws unavailable on an HTTP error; invalid-parameter on a checksum mismatch
 */
export async function downloadUrl(url: string, file: string, o: { checksum?: string | undefined; signal?: AbortSignal | undefined }): Promise<{ digest: string; name: string; lastModified?: Date }> {
  const res = await fetch(url, o.signal === undefined ? {} : { signal: o.signal });
  if (!res.ok || res.body === null) {
    throw notFound(`failed to load cache key: invalid response status ${res.status}`, { detail: { url } });
  }
  const { createHash } = await import("node:crypto");
  const h = createHash("sha256");
  const chunks: Buffer[] = [];
  for await (const c of Readable.fromWeb(res.body as import("node:stream/web").ReadableStream<Uint8Array>)) {
    h.update(c as Buffer);
    chunks.push(c as Buffer);
  }
  const digest = `sha256:${h.digest("hex")}`;
  if (o.checksum !== undefined && o.checksum !== "" && o.checksum !== digest) {
    throw invalidParameter(`digest mismatch ${digest}: ${o.checksum}`, { detail: { url } });
  }
  await writeFile(file, Buffer.concat(chunks), { mode: 0o600 });
  const lm = res.headers.get("last-modified");
  const name = posix.basename(new URL(url).pathname) || "index.html";
  return lm !== null && !Number.isNaN(Date.parse(lm)) ? { digest, name, lastModified: new Date(lm) } : { digest, name };
}
