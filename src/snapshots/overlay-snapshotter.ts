/**
 * OverlaySnapshotter: image layers unpacked once, shared by every image and
 * container; one upper/work pair per container (DESIGN.md "root filesystems").
 *
 * On disk, under the berth root:
 *
 *   layers/<chain-hex>/diff        one unpacked layer (an overlay lower dir, read-only by convention)
 *   layers/<chain-hex>/meta.json   { chainId, diffId, size } written before the layer is published
 *   l/<short>  -> ../layers/<chain-hex>/diff   short links, so many lower dirs fit in one mount
 *   tmp/layer-<rand>/              a layer being unpacked (renamed into layers/ when verified)
 *   <containerDir>/{upper,work,rootfs}   per container, placed by the caller
 *
 * Invariants:
 * - `layers/<chain-hex>/` exists only when its content was verified against the
 *   expected diffID: unpacking happens in tmp/ and the directory is published by
 *   one atomic rename. Two processes unpacking the same layer both succeed; the
 *   rename loser discards its copy.
 * - A layer directory is keyed by chain ID, not diffID: the same diff on top of
 *   different parents is a different snapshot (OCI image-spec config.md).
 * - Mounts handed out by `prepare` carry absolute paths; `mount` shortens
 *   lower dirs itself (see below), so callers never compute overlay paths.
 *
 * Overlay's mount data is limited to one page (4096 bytes including the NUL).
 * With absolute paths (~90 bytes per lower dir) that allows about 40 layers, so
 * `mount` runs mount(8) from cwd=<root> with lower dirs written as `l/<short>`
 * symlinks (27 bytes each, as Docker's overlay2 driver does with its l/
 * directory), which allows about 140 layers; beyond the page it refuses with
 * invalid-parameter (Docker's own limit is 128 layers).
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { lstat, mkdir, readFile, readdir, readlink, realpath, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { isAbsolute, join, relative, sep } from "node:path";
import type { Readable } from "node:stream";
import {
  dataLoss,
  digestHex,
  digestOf,
  invalidParameter,
  isDigest,
  isEngineError,
  notFound,
  systemError,
  throwIfAborted,
  type Digest,
  type Mount,
} from "../core/index.ts";

/** Applies one uncompressed layer tar into `dest` (an existing empty directory). Provided by src/layers (applyLayer). */
export type LayerApplyFn = (
  tar: Readable,
  dest: string,
  o: { signal?: AbortSignal },
) => Promise<{ readonly diffId: Digest; readonly size: number }>;

export interface OverlaySnapshotterOptions {
  /** The berth root (layers/, l/ and tmp/ live under it). */
  readonly root: string;
  readonly apply: LayerApplyFn;
  /**
   * Flush an unpacked layer to disk (`sync -f`) before publishing it, so a
   * power loss cannot leave a truncated file in a published layer. Default true.
   */
  readonly durable?: boolean;
}

/** What `ensureLayers` records next to each layer. */
export interface LayerMeta {
  readonly chainId: Digest;
  readonly diffId: Digest;
  /** Bytes of regular-file content, as reported by the apply function. */
  readonly size: number;
}

/** Overlay mount data must fit in one page, NUL included. */
export const MAX_MOUNT_DATA = 4095;
const SHORT_LEN = 24;

/**
 * Chain IDs of a layer stack (OCI image-spec config.md, "Layer ChainID"):
 * ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)).
 */
export function chainIds(diffIds: readonly Digest[]): Digest[] {
  const out: Digest[] = [];
  for (const d of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? d : digestOf(`${prev} ${d}`));
  }
  return out;
}

/** The errno code of a Node system error (never an EngineError's code). */
function errnoOf(err: unknown): string | undefined {
  if (isEngineError(err)) return undefined;
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch (err) {
    if (errnoOf(err) === "ENOENT") return false;
    throw err;
  }
}

function run(cmd: string, args: string[], o: { cwd?: string } = {}): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: o.cwd, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => {
      if (stderr.length < 4096) stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code: code ?? (signal === null ? 1 : 128), stderr: stderr.trim() }));
  });
}

/** Mount points of this mount namespace, from /proc/self/mountinfo (octal escapes decoded). */
async function mountPoints(): Promise<Set<string>> {
  const text = await readFile("/proc/self/mountinfo", "utf8");
  const out = new Set<string>();
  for (const line of text.split("\n")) {
    const field = line.split(" ")[4];
    if (field !== undefined) out.add(field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}

function checkMountPath(p: string, what: string): void {
  if (!isAbsolute(p)) throw invalidParameter(`${what} must be an absolute path: ${p}`);
  if (/[,:\n\\]/.test(p)) throw invalidParameter(`${what} cannot contain ',', ':', '\\' or a newline for overlay: ${p}`);
}

export class OverlaySnapshotter {
  readonly root: string;
  readonly layersDir: string;
  readonly linksDir: string;
  readonly tmpDir: string;
  readonly #apply: LayerApplyFn;
  readonly #durable: boolean;

  constructor(o: OverlaySnapshotterOptions) {
    if (!isAbsolute(o.root)) throw invalidParameter(`snapshotter root must be absolute: ${o.root}`);
    this.root = o.root;
    this.layersDir = join(o.root, "layers");
    this.linksDir = join(o.root, "l");
    this.tmpDir = join(o.root, "tmp");
    this.#apply = o.apply;
    this.#durable = o.durable ?? true;
  }

  /** The lower dir of a layer (whether or not it exists yet). */
  layerDiffDir(chainId: Digest): string {
    return join(this.layersDir, digestHex(chainId), "diff");
  }

  async hasLayer(chainId: Digest): Promise<boolean> {
    return exists(join(this.layersDir, digestHex(chainId)));
  }

  /** The metadata recorded for a layer. @throws not-found when the layer is not unpacked */
  async layerMeta(chainId: Digest): Promise<LayerMeta> {
    try {
      const raw = await readFile(join(this.layersDir, digestHex(chainId), "meta.json"), "utf8");
      return JSON.parse(raw) as LayerMeta;
    } catch (err) {
      if (errnoOf(err) === "ENOENT") throw notFound(`layer ${chainId}: not unpacked`, { cause: err });
      throw err;
    }
  }

  /**
   * Ensures each layer of an image is unpacked. For each missing chain ID,
   * `open(i)` gives the *uncompressed* tar of layer i; it is applied into
   * tmp/layer-<rand>/diff, its diffID checked, and the directory renamed to
   * layers/<chain-hex>/. Safe against concurrent callers in other processes.
   * Returns the lower dirs, topmost first (overlay's lowerdir order).
   * @throws data-loss when a layer's diffID is not the expected one (nothing is published)
   * @throws cancelled on abort; invalid-parameter for malformed diffIDs; whatever `apply` throws
   */
  async ensureLayers(o: {
    diffIds: readonly Digest[];
    open: (i: number) => Promise<Readable>;
    signal?: AbortSignal;
  }): Promise<string[]> {
    for (const d of o.diffIds) if (!isDigest(d)) throw invalidParameter(`invalid diffID: ${JSON.stringify(d)}`);
    const chains = chainIds(o.diffIds);
    // Each layer unpacks into its own directory, so several can unpack at once
    // (bounded: gunzip, hashing and writing keep a core busy each).
    const pending = chains.map((c, i) => ({ i, chainId: c as Digest }));
    let failure: unknown;
    const worker = async (): Promise<void> => {
      for (let job = pending.shift(); job !== undefined && failure === undefined; job = pending.shift()) {
        throwIfAborted(o.signal);
        if (await this.hasLayer(job.chainId)) continue;
        try {
          await this.#unpack(job.i, job.chainId, o.diffIds[job.i] as Digest, o.open, o.signal);
        } catch (err) {
          failure ??= err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(3, Math.max(1, chains.length)) }, worker));
    if (failure !== undefined) throw failure;
    return chains.map((c) => this.layerDiffDir(c)).reverse();
  }

  async #unpack(
    i: number,
    chainId: Digest,
    diffId: Digest,
    open: (i: number) => Promise<Readable>,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    await mkdir(this.tmpDir, { recursive: true });
    await mkdir(this.layersDir, { recursive: true });
    const tmp = join(this.tmpDir, `layer-${randomBytes(8).toString("hex")}`);
    const diff = join(tmp, "diff");
    let stream: Readable | undefined;
    try {
      await mkdir(diff, { recursive: true, mode: 0o755 });
      stream = await open(i);
      const r = await this.#apply(stream, diff, signal === undefined ? {} : { signal });
      if (r.diffId !== diffId) {
        throw dataLoss(`layer ${i}: unpacked content has diffID ${r.diffId}, expected ${diffId}`, {
          detail: { expected: diffId, actual: r.diffId, layer: i },
        });
      }
      throwIfAborted(signal);
      const meta: LayerMeta = { chainId, diffId, size: r.size };
      await writeFile(join(tmp, "meta.json"), JSON.stringify(meta));
      if (this.#durable) {
        const s = await run("sync", ["-f", tmp]);
        if (s.code !== 0) throw systemError(`sync layer ${chainId}: ${s.stderr}`);
      }
      try {
        await rename(tmp, join(this.layersDir, digestHex(chainId)));
      } catch (err) {
        // Another process published the same layer first: ours is redundant.
        if (errnoOf(err) !== "EEXIST" && errnoOf(err) !== "ENOTEMPTY") throw err;
        await rm(tmp, { recursive: true, force: true });
      }
    } catch (err) {
      stream?.destroy();
      await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
      if (errnoOf(err) === "ENOSPC") throw systemError(`unpack layer ${i}: no space left on device`, { cause: err });
      if (errnoOf(err) !== undefined) throw systemError(`unpack layer ${i}: ${(err as Error).message}`, { cause: err });
      throw err;
    }
  }

  /**
   * Prepares a container's writable layer: creates `<containerDir>/upper`,
   * `<containerDir>/work` and `<containerDir>/rootfs`, and returns the overlay
   * Mount for target `<containerDir>/rootfs`. With no lower dirs (FROM scratch,
   * an empty import) an empty `<containerDir>/empty` is the lower dir.
   * @throws invalid-parameter for paths overlay cannot express
   */
  async prepare(o: { containerDir: string; lowerDirs: readonly string[] }): Promise<Mount> {
    checkMountPath(o.containerDir, "container directory");
    for (const l of o.lowerDirs) checkMountPath(l, "lower dir");
    const upper = join(o.containerDir, "upper");
    const work = join(o.containerDir, "work");
    const target = join(o.containerDir, "rootfs");
    await mkdir(upper, { recursive: true, mode: 0o755 });
    await mkdir(work, { recursive: true, mode: 0o700 });
    await mkdir(target, { recursive: true, mode: 0o755 });
    let lowers = o.lowerDirs;
    if (lowers.length === 0) {
      const empty = join(o.containerDir, "empty");
      await mkdir(empty, { recursive: true, mode: 0o755 });
      lowers = [empty];
    }
    return {
      type: "overlay",
      source: "overlay",
      target,
      options: [`lowerdir=${lowers.join(":")}`, `upperdir=${upper}`, `workdir=${work}`],
    };
  }

  /**
   * The short form of a lower dir for the mount data: `l/<short>` (relative to
   * the root) for layers of this snapshotter, else the path unchanged.
   */
  async #shortLower(dir: string): Promise<string> {
    const rel = relative(this.layersDir, dir);
    const parts = rel.split(sep);
    const hex = parts[0];
    if (parts.length !== 2 || parts[1] !== "diff" || hex === undefined || !isDigest(`sha256:${hex}`)) return dir;
    const name = hex.slice(0, SHORT_LEN);
    const link = join(this.linksDir, name);
    const want = join("..", "layers", hex, "diff");
    await mkdir(this.linksDir, { recursive: true });
    try {
      await symlink(want, link);
    } catch (err) {
      if (errnoOf(err) !== "EEXIST") throw err;
      // Exists: ours (made before), or a prefix collision, where the long form is used instead.
      if ((await readlink(link)) !== want) return join("layers", hex, "diff");
    }
    return join("l", name);
  }

  /**
   * Mounts an overlay Mount (from `prepare`) on `target` (created if missing).
   * @throws invalid-parameter for a non-overlay mount or one too large for a page; system when mount(8) fails
   */
  async mount(m: Mount, target: string): Promise<void> {
    if (m.type !== "overlay") throw invalidParameter(`not an overlay mount: ${m.type}`);
    const opts: string[] = [];
    for (const opt of m.options) {
      if (opt.startsWith("lowerdir=")) {
        const dirs = opt.slice("lowerdir=".length).split(":");
        const short: string[] = [];
        for (const d of dirs) short.push(await this.#shortLower(d));
        opts.push(`lowerdir=${short.join(":")}`);
      } else {
        opts.push(opt);
      }
    }
    const data = opts.join(",");
    if (Buffer.byteLength(data) > MAX_MOUNT_DATA) {
      throw invalidParameter(
        `overlay mount options are ${Buffer.byteLength(data)} bytes, more than the ${MAX_MOUNT_DATA} one page allows: too many layers`,
      );
    }
    await mkdir(target, { recursive: true });
    const r = await run("mount", ["-t", "overlay", "overlay", "-o", data, target], { cwd: this.root });
    if (r.code !== 0) throw systemError(`mount overlay on ${target}: ${r.stderr || `exit ${r.code}`}`);
  }

  /** Unmounts `target`; not being mounted (or not existing) is not an error. @throws system (e.g. busy) */
  /** Whether something is mounted at `target` in this mount namespace. */
  async isMounted(target: string): Promise<boolean> {
    const real = await realpath(target).catch(() => target);
    return (await mountPoints()).has(real);
  }

  async unmount(target: string): Promise<void> {
    target = await realpath(target).catch(() => target);
    if (!(await mountPoints()).has(target)) return;
    const r = await run("umount", [target]);
    if (r.code === 0) return;
    if (!(await mountPoints()).has(target)) return;
    throw systemError(`unmount ${target}: ${r.stderr || `exit ${r.code}`}`);
  }

  /**
   * Disk usage of a directory tree, like `du`: allocated bytes (st_blocks ×
   * 512) and inodes, hard links counted once, not crossing mount points.
   */
  async usage(dir: string): Promise<{ bytes: number; inodes: number }> {
    const seen = new Set<string>();
    let bytes = 0;
    let inodes = 0;
    const top = await lstat(dir, { bigint: true });
    const walk = async (p: string): Promise<void> => {
      const st = await lstat(p, { bigint: true });
      if (st.dev !== top.dev) return;
      const key = `${st.ino}`;
      if (!seen.has(key)) {
        seen.add(key);
        bytes += Number(st.blocks) * 512;
        inodes++;
      }
      if (st.isDirectory()) {
        for (const name of await readdir(p)) await walk(join(p, name));
      }
    };
    await walk(dir);
    return { bytes, inodes };
  }

  /** Removes an unpacked layer (garbage collection decides when). Missing is not an error. */
  async removeLayer(chainId: Digest): Promise<void> {
    if (!isDigest(chainId)) throw invalidParameter(`invalid chain ID: ${JSON.stringify(chainId)}`);
    const hex = digestHex(chainId);
    const link = join(this.linksDir, hex.slice(0, SHORT_LEN));
    try {
      if ((await readlink(link)) === join("..", "layers", hex, "diff")) await rm(link, { force: true });
    } catch {
      /* no link */
    }
    await mkdir(this.tmpDir, { recursive: true });
    const doomed = join(this.tmpDir, `remove-${randomBytes(8).toString("hex")}`);
    try {
      // Unpublish atomically first, then delete at leisure.
      await rename(join(this.layersDir, hex), doomed);
    } catch (err) {
      if (errnoOf(err) === "ENOENT") return;
      throw systemError(`remove layer ${chainId}: ${(err as Error).message}`, { cause: err });
    }
    await rm(doomed, { recursive: true, force: true });
  }

  /** Chain IDs of every unpacked layer. */
  async listLayers(): Promise<Digest[]> {
    let names: string[];
    try {
      names = await readdir(this.layersDir);
    } catch (err) {
      if (errnoOf(err) === "ENOENT") return [];
      throw err;
    }
    const out: Digest[] = [];
    for (const n of names) {
      const d = `sha256:${n}`;
      if (isDigest(d) && (await stat(join(this.layersDir, n))).isDirectory()) out.push(d);
    }
    return out.sort();
  }

  /** Removes `tmp/layer-*` and `tmp/remove-*` directories older than `olderThanMs` (left by crashed processes). */
  async sweepTemp(olderThanMs = 60 * 60 * 1000): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.tmpDir);
    } catch {
      return 0;
    }
    let n = 0;
    for (const name of names) {
      if (!name.startsWith("layer-") && !name.startsWith("remove-")) continue;
      const p = join(this.tmpDir, name);
      try {
        if (Date.now() - (await lstat(p)).mtimeMs > olderThanMs) {
          await rm(p, { recursive: true, force: true });
          n++;
        }
      } catch {
        /* raced */
      }
    }
    return n;
  }
}
