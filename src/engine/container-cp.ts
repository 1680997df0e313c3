/**
 * `cp`: files between a container's root filesystem and the host, in
 * docker's archive mode (docker/cli cli/command/container/cp.go and moby
 * pkg/archive copy.go rules, resolved here on the engine side):
 *
 *   SRC file → DEST missing: written as DEST (DEST ending in "/" is an error:
 *     the directory must exist); DEST a file: overwritten; DEST a directory:
 *     written into it under SRC's name.
 *   SRC directory → DEST missing: created as DEST with SRC's content; DEST a
 *     file: error; DEST a directory: SRC copied into it, or only its content
 *     when SRC ends in "/.".
 *   SRC "x/" where x is not a directory: error. `followLink` (-L) follows a
 *     symlink that is SRC itself; without it the link is copied as a link.
 *   Ownership: into a container everything becomes root's (0:0), out of one
 *     the caller's, unless `copyOwnership` (-a) keeps the source's ids.
 *
 * Safety: container paths are resolved with secureJoin against the rootfs,
 * so a symlink inside the container is followed as if the rootfs were "/" and
 * never leads to the host; tar input is written by applyLayer, which never
 * writes through a symlink. A container being changed by its own processes
 * while the copy runs is out of scope (moby CVE-2018-15664): the walk itself
 * never follows symlinks, but a directory swapped for a link between the
 * resolution and the walk is not guarded against.
 *
 * A stopped container's rootfs is mounted for the copy and unmounted after
 * (see withContainerRootfs).
 */
import { execFileSync } from "node:child_process";
import { lstatSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { lstat, readlink, realpath, stat } from "node:fs/promises";
import { basename, dirname, join, posix } from "node:path";
import { randomBytes } from "node:crypto";
import type { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { conflict, invalidParameter, notFound, systemError, throwIfAborted } from "../core/index.ts";
import { applyLayer, packDirectory } from "../layers/index.ts";
import { secureJoin } from "../runtime/secure-path.ts";
import type { EngineContext } from "./context.ts";
import { containerDir, containerRunDir, findContainer, getContainerById, updateState, type ContainerRecord, type ContainerStatus } from "./container-record.ts";
import { refreshContainer } from "./container-refresh.ts";
import { containerServices } from "./services.ts";

// ---------------------------------------------------------------------------
// The rootfs of a container, mounted for the duration of an operation

const ACTIVE: ReadonlySet<ContainerStatus> = new Set(["running", "paused", "restarting"]);

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

function isMountPoint(path: string): boolean {
  const text = readFileSync("/proc/self/mountinfo", "utf8");
  for (const line of text.split("\n")) {
    const f = line.split(" ");
    if (f[4] !== undefined && unescapeMount(f[4]) === path) return true;
  }
  return false;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Other live users of a stopped container's rootfs mount (marker files `<pid>-<rand>` in the run dir). */
function otherUsers(dir: string, self: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => {
    if (n === self) return false;
    const pid = Number(n.split("-")[0]);
    if (Number.isInteger(pid) && pid > 0 && alive(pid)) return true;
    rmSync(join(dir, n), { force: true }); // left by a dead process
    return false;
  });
}

const START_WAIT_MS = 10_000;

async function pollUntil(cond: () => boolean, ms: number, what: string, signal?: AbortSignal): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    throwIfAborted(signal);
    if (Date.now() > end) throw conflict(what);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Runs `fn` with the container's root filesystem available at a host path.
 * A running or paused container's overlay is already mounted and used as it
 * is. A stopped one is mounted for the call and unmounted afterwards, unless
 * another berth process is using it too (marker files under the run dir,
 * decided inside the state transaction) or the container was started
 * meanwhile (then start found it mounted and owns the mount now).
 * Bind mounts and volumes of the container are not visible through it.
 * @throws conflict when the container stays "restarting" (being started) for 10 s
 */
export async function withContainerRootfs<T>(
  ctx: EngineContext,
  recIn: ContainerRecord,
  fn: (rootfs: string, rec: ContainerRecord) => Promise<T>,
  o: { signal?: AbortSignal } = {},
): Promise<T> {
  let rec = await refreshContainer(ctx, recIn);
  const dir = containerDir(ctx, rec.id);
  const rootfs = join(dir, "rootfs");
  if (rec.state.Status === "restarting") {
    await pollUntil(() => getContainerById(ctx, rec.id)?.state.Status !== "restarting", START_WAIT_MS, `container ${rec.id} is being started`, o.signal);
    rec = await refreshContainer(ctx, findContainer(ctx, rec.id));
  }
  if (ACTIVE.has(rec.state.Status) && isMountPoint(realpathSync(rootfs))) return fn(rootfs, rec);

  const svc = await containerServices(ctx);
  const usersDir = join(containerRunDir(ctx, rec.id), "rootfs-users");
  const marker = `${process.pid}-${randomBytes(4).toString("hex")}`;
  let weMount = false;
  let active = false;
  updateState(ctx, rec.id, (s) => {
    if (ACTIVE.has(s.Status)) {
      active = true;
      return s;
    }
    mkdirSync(usersDir, { recursive: true });
    writeFileSync(join(usersDir, marker), "");
    const mounted = existsDir(rootfs) && isMountPoint(realpathSync(rootfs));
    weMount = !mounted && otherUsers(usersDir, marker).length === 0;
    return { ...s, Mounted: true };
  });
  if (active) return withContainerRootfs(ctx, await refreshContainer(ctx, findContainer(ctx, rec.id)), fn, o);
  const release = (): void => {
    if (getContainerById(ctx, rec.id) === undefined) return;
    updateState(ctx, rec.id, (s) => {
      rmSync(join(usersDir, marker), { force: true });
      if (ACTIVE.has(s.Status) || otherUsers(usersDir, marker).length > 0) return s;
      const real = realpathSync(rootfs);
      if (isMountPoint(real)) {
        try {
          execFileSync("umount", [real], { stdio: ["ignore", "ignore", "pipe"] });
        } catch (e) {
          throw systemError(`unmount ${real}: ${String((e as { stderr?: Buffer }).stderr ?? e)}`, { cause: e });
        }
      }
      return { ...s, Mounted: false };
    });
  };
  try {
    if (weMount) {
      const m = await svc.snapshotter.prepare({ containerDir: dir, lowerDirs: rec.config.Berth.lowerDirs });
      await svc.snapshotter.mount(m, rootfs);
    } else {
      await pollUntil(() => isMountPoint(realpathSync(rootfs)), START_WAIT_MS, `the root filesystem of container ${rec.id} was not mounted in time`, o.signal);
    }
    return await fn(rootfs, rec);
  } finally {
    release();
  }
}

function existsDir(p: string): boolean {
  try {
    return lstatSync(p).isDirectory();
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// Tar rewriting: rename the top entry, set owners

interface Rewrite {
  /** Entries named `from` or `from/...` become `to` / `to/...`. */
  readonly rename?: { from: string; to: string };
  readonly owner?: { uid: number; gid: number };
}

function renamed(name: string, r: Rewrite["rename"]): string {
  if (r === undefined || r.from === r.to) return name;
  if (name === r.from || name === `${r.from}/`) return name.replace(r.from, r.to);
  if (name.startsWith(`${r.from}/`)) return r.to + name.slice(r.from.length);
  return name;
}

/** Passes a tar through, renaming its top entry and/or replacing owners (PAX path/uid/gid records dropped accordingly). */
export function rewriteTar(input: Readable, r: Rewrite): Readable {
  const extract = tar.extract();
  const pack = tar.pack();
  const fail = (e: unknown) => pack.destroy(e instanceof Error ? e : new Error(String(e)));
  pipeline(input, extract).catch(fail);
  (async () => {
    for await (const entry of extract) {
      const h = { ...entry.header };
      h.name = renamed(h.name, r.rename);
      if (h.type === "link" && h.linkname !== undefined && h.linkname !== null) h.linkname = renamed(h.linkname, r.rename);
      if (h.pax !== undefined && h.pax !== null) {
        const pax: Record<string, string> = { ...(h.pax as Record<string, string>) };
        delete pax["path"];
        if (h.type === "link") delete pax["linkpath"];
        if (r.owner !== undefined) {
          delete pax["uid"];
          delete pax["gid"];
          delete pax["uname"];
          delete pax["gname"];
        }
        h.pax = pax;
      }
      if (r.owner !== undefined) {
        h.uid = r.owner.uid;
        h.gid = r.owner.gid;
        h.uname = "";
        h.gname = "";
      }
      await new Promise<void>((resolve, reject) => {
        const sink = pack.entry(h, (err) => (err ? reject(err) : resolve()));
        entry.on("error", reject);
        entry.pipe(sink);
      });
    }
    pack.finalize();
  })().catch(fail);
  return pack as unknown as Readable;
}

// ---------------------------------------------------------------------------
// Paths

export interface PathStat {
  readonly name: string;
  readonly size: number;
  readonly mode: number;
  readonly mtime: string;
  readonly linkTarget: string;
  readonly isDir: boolean;
}

interface Source {
  /** Host path of the entry to pack (the link itself, or its target with followLink). */
  readonly abs: string;
  readonly isDir: boolean;
  /** SRC ended in "/.": copy a directory's content, not the directory. */
  readonly contentOnly: boolean;
  /** The name SRC is known by (its last component). */
  readonly name: string;
}

function splitSrc(p: string): { path: string; contentOnly: boolean; trailingSlash: boolean } {
  const contentOnly = p === "." || p.endsWith("/.");
  const trailingSlash = p.endsWith("/") || contentOnly;
  return { path: p, contentOnly, trailingSlash };
}

/** The last real component of a path ("a/b/." → "b", "/" → "/"). */
function lastName(p: string): string {
  const n = posix.normalize(p).replace(/\/+$/, "");
  return n === "" ? "/" : posix.basename(n);
}

/** Packs one source as a tar whose top entry is `rootName` (or the directory's content when contentOnly). */
function packSource(src: Source, rootName: string, o: { signal?: AbortSignal; intoExistingDir?: boolean }): Readable {
  const sig = o.signal === undefined ? {} : { signal: o.signal };
  if (src.isDir) {
    return src.contentOnly && o.intoExistingDir !== false ? packDirectory(src.abs, sig) : packDirectory(src.abs, { ...sig, prefix: rootName });
  }
  const base = basename(src.abs);
  const t = packDirectory(dirname(src.abs), { ...sig, filter: (rel) => rel === base });
  return base === rootName ? t : rewriteTar(t, { rename: { from: base, to: rootName } });
}

async function hostSource(hostPath: string, followLink: boolean): Promise<Source> {
  const s = splitSrc(hostPath);
  const clean = hostPath.replace(/\/\.$/, "/");
  let st;
  try {
    st = followLink || s.trailingSlash ? await stat(clean) : await lstat(clean);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw notFound(`lstat ${hostPath.replace(/\/+$/, "")}: no such file or directory`);
    if (code === "ENOTDIR") throw invalidParameter(`lstat ${hostPath}: not a directory`);
    throw systemError(`lstat ${hostPath}: ${(e as Error).message}`, { cause: e });
  }
  if (s.trailingSlash && !st.isDirectory()) throw invalidParameter(`lstat ${hostPath}: not a directory`);
  const abs = st.isSymbolicLink() ? clean.replace(/\/+$/, "") : await realpath(clean);
  return { abs, isDir: st.isDirectory(), contentOnly: s.contentOnly && st.isDirectory(), name: lastName(hostPath) };
}

async function containerSource(rootfs: string, path: string, followLink: boolean, rec: ContainerRecord): Promise<Source> {
  const s = splitSrc(path);
  const norm = posix.normalize(`/${path}`);
  // The final component is not followed unless asked (or SRC names a directory with "/").
  const abs = followLink || s.trailingSlash || norm === "/" ? await secureJoin(rootfs, norm) : join(await secureJoin(rootfs, posix.dirname(norm)), posix.basename(norm));
  let st;
  try {
    st = await lstat(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw notFound(`Could not find the file ${path} in container ${rec.name}`);
    throw systemError(`lstat ${path}: ${(e as Error).message}`, { cause: e });
  }
  if (s.trailingSlash && !st.isDirectory()) throw invalidParameter(`lstat ${path}: not a directory`);
  return { abs, isDir: st.isDirectory(), contentOnly: s.contentOnly && st.isDirectory(), name: lastName(path) };
}

interface Target {
  /** Existing directory the tar is extracted into. */
  readonly dir: string;
  /** Name the source's top entry gets. */
  readonly rootName: string;
  /** DEST is an existing directory (SRC "/." then copies only the content into it). */
  readonly intoExistingDir: boolean;
}

/**
 * Where a source lands under docker's rules. `resolved` is DEST resolved
 * (symlinks followed), `parentOf` resolves DEST's parent.
 */
async function targetFor(src: Source, destGiven: string, resolved: string, resolvedParent: () => Promise<string>, where: string): Promise<Target> {
  let st;
  try {
    st = await stat(resolved);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENOENT") {
      if (code === "ENOTDIR") throw invalidParameter(`${where}: ${destGiven}: not a directory`);
      throw systemError(`stat ${destGiven}: ${(e as Error).message}`, { cause: e });
    }
  }
  if (st === undefined) {
    if (/\/\.?$/.test(destGiven) && !src.isDir) throw invalidParameter(`destination directory ${destGiven} must exist`);
    const parent = await resolvedParent();
    let pst;
    try {
      pst = await stat(parent);
    } catch {
      pst = undefined;
    }
    if (pst === undefined || !pst.isDirectory()) throw notFound(`${where}: the parent directory of ${destGiven} does not exist`);
    return { dir: parent, rootName: lastName(destGiven), intoExistingDir: false };
  }
  if (st.isDirectory()) return { dir: resolved, rootName: src.name, intoExistingDir: true };
  if (src.isDir) throw invalidParameter(`cannot copy a directory to a file: ${destGiven}`);
  return { dir: await resolvedParent(), rootName: basename(resolved), intoExistingDir: false };
}

// ---------------------------------------------------------------------------
// Operations

export interface CopyOptions {
  /** Container ID or name. */
  readonly container: string;
  /** -L: follow SRC when it is itself a symlink. */
  readonly followLink?: boolean;
  /** -a: keep the source's uid/gid. */
  readonly copyOwnership?: boolean;
  readonly signal?: AbortSignal;
}

const myOwner = () => ({ uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 });

async function extract(t: Readable, dir: string, signal: AbortSignal | undefined): Promise<number> {
  const r = await applyLayer(t, dir, { mode: "import", allowDevices: true, ...(signal === undefined ? {} : { signal }) });
  return r.size;
}

/**
 * Copies host `hostPath` to `containerPath` in the container. Returns the
 * bytes of file content written.
 * @throws not-found missing source / container / destination parent; invalid-parameter for the rule violations above
 */
export async function copyToContainer(ctx: EngineContext, o: CopyOptions & { hostPath: string; containerPath: string }): Promise<number> {
  const src = await hostSource(o.hostPath, o.followLink === true);
  return withContainerRootfs(
    ctx,
    findContainer(ctx, o.container),
    async (rootfs, rec) => {
      const norm = posix.normalize(`/${o.containerPath}`);
      const resolved = await secureJoin(rootfs, norm);
      const where = `Could not find the file in container ${rec.name}`;
      const target = await targetFor(src, o.containerPath, resolved, () => secureJoin(rootfs, posix.dirname(norm)), where);
      const packed = packSource(src, target.rootName, { ...o, intoExistingDir: target.intoExistingDir });
      const t = rewriteTar(packed, o.copyOwnership === true ? {} : { owner: { uid: 0, gid: 0 } });
      return extract(t, target.dir, o.signal);
    },
    o,
  );
}

/** Copies `containerPath` of the container to host `hostPath`. Returns the bytes of file content written. */
export async function copyFromContainer(ctx: EngineContext, o: CopyOptions & { containerPath: string; hostPath: string }): Promise<number> {
  return withContainerRootfs(
    ctx,
    findContainer(ctx, o.container),
    async (rootfs, rec) => {
      const src = await containerSource(rootfs, o.containerPath, o.followLink === true, rec);
      const dest = o.hostPath.replace(/\/+$/, "") === "" ? "/" : o.hostPath;
      const target = await targetFor(src, o.hostPath, dest, async () => dirname(await realpathOr(dest)), "no such directory");
      const packed = packSource(src, target.rootName, { ...o, intoExistingDir: target.intoExistingDir });
      const t = rewriteTar(packed, o.copyOwnership === true ? {} : { owner: myOwner() });
      return extract(t, target.dir, o.signal);
    },
    o,
  );
}

async function realpathOr(p: string): Promise<string> {
  try {
    return await realpath(p);
  } catch {
    return join(await realpath(dirname(p)).catch(() => dirname(p)), basename(p));
  }
}

/**
 * `cp CONTAINER:SRC -`: a tar of SRC (top entry named like SRC, owners as in
 * the container) written to `out`, which is not ended.
 */
export async function containerArchive(ctx: EngineContext, o: CopyOptions & { containerPath: string; out: Writable }): Promise<PathStat> {
  return withContainerRootfs(
    ctx,
    findContainer(ctx, o.container),
    async (rootfs, rec) => {
      const src = await containerSource(rootfs, o.containerPath, o.followLink === true, rec);
      const st = await lstat(src.abs);
      const t = packSource(src, src.name === "/" ? "." : src.name, o);
      await pipeline(t, o.out, { end: false, ...(o.signal === undefined ? {} : { signal: o.signal }) });
      return {
        name: src.name,
        size: st.size,
        mode: st.mode,
        mtime: st.mtime.toISOString(),
        linkTarget: st.isSymbolicLink() ? await readlink(src.abs) : "",
        isDir: st.isDirectory(),
      };
    },
    o,
  );
}

/**
 * `cp - CONTAINER:DEST`: extracts a tar into DEST, which must be an existing
 * directory of the container (symlinks resolved inside the container).
 */
export async function containerExtract(ctx: EngineContext, o: CopyOptions & { containerPath: string; tar: Readable }): Promise<number> {
  return withContainerRootfs(
    ctx,
    findContainer(ctx, o.container),
    async (rootfs, rec) => {
      const dir = await secureJoin(rootfs, posix.normalize(`/${o.containerPath}`));
      let st;
      try {
        st = await stat(dir);
      } catch {
        throw notFound(`Could not find the file ${o.containerPath} in container ${rec.name}`);
      }
      if (!st.isDirectory()) throw invalidParameter(`extraction point is not a directory`);
      const t = o.copyOwnership === true ? o.tar : rewriteTar(o.tar, { owner: { uid: 0, gid: 0 } });
      return extract(t, dir, o.signal);
    },
    o,
  );
}
