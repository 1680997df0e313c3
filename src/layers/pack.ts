/**
 * Deterministic tars of directory trees: diffDirectory (an overlay upper dir → an OCI changeset)
 * and packDirectory (a whole tree, for import from a folder and build COPY).
 *
 * Determinism rules (same input tree → same bytes, whatever the readdir order or the machine):
 * depth-first walk with names sorted by their UTF-8 bytes (parents before children); uid, gid and
 * the 12 permission bits kept; mtimes in whole seconds, clamped to sourceDateEpoch when given;
 * no atime/ctime, no uname/gname; PAX headers only for long or non-ASCII names and ids that do
 * not fit ustar; hardlinks within the tree become link entries to the first path (in walk order).
 */
import { closeSync, createReadStream, fstatSync, lstatSync, openSync, readSync, readdirSync, readlinkSync, type BigIntStats } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import tar from "tar-stream";
import { invalidParameter, systemError, throwIfAborted } from "../core/errors.ts";
import { findXattr } from "./host-commands.ts";
import { OPAQUE_WHITEOUT, WHITEOUT_PREFIX } from "./member-paths.ts";

export interface PackOptions {
  readonly signal?: AbortSignal;
  /** Unix seconds: every mtime later than this is replaced by it (reproducible builds). */
  readonly sourceDateEpoch?: number;
}

export interface PackDirectoryOptions extends PackOptions {
  /** Called with each path relative to the tree root ("a/b"); false leaves the entry (and, for a directory, its subtree) out. */
  readonly filter?: (relPath: string) => boolean;
  /** Put every entry under this directory ("app" → "app/a/b"); the root itself is then emitted as "app/". */
  readonly prefix?: string;
}

interface WalkOptions extends PackDirectoryOptions {
  readonly overlayWhiteouts: boolean;
}

const USTAR_MAX_ID = 0o7777777;

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** Linux dev_t → major/minor (glibc gnu_dev_major/minor). */
function devParts(rdev: bigint): { major: number; minor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return { major: Number(major), minor: Number(minor) };
}

/** Files up to this size are read in one synchronous call (streams cost more than the read itself). */
const SMALL_FILE = 256 << 10;

/** Reads exactly `size` bytes (the size the header announces); a file that changed size is an error. */
function readSmall(path: string, size: number): Buffer {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.allocUnsafe(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    if (off !== size || fstatSync(fd).size !== size) throw systemError(`${path} changed size while it was packed`);
    return buf;
  } finally {
    closeSync(fd);
  }
}

type EntryHeader = Parameters<tar.Pack["entry"]>[0];

async function writeEntry(pack: tar.Pack, header: EntryHeader, body?: Readable | Buffer): Promise<void> {
  let settle!: (err?: Error | null) => void;
  const done = new Promise<void>((resolve, reject) => {
    settle = (err) => (err ? reject(err) : resolve());
  });
  if (Buffer.isBuffer(body)) {
    pack.entry(header, body, (err) => settle(err));
    await done;
    return;
  }
  const sink = pack.entry(header, (err) => settle(err));
  if (body !== undefined) {
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        if (!sink.write(chunk)) await new Promise<void>((r) => sink.once("drain", () => r()));
      }
      sink.end(undefined);
    } catch (err) {
      sink.destroy(err as Error);
      await done.catch(() => {});
      throw err;
    }
  } else if (header.type === "file") {
    sink.end(undefined);
  }
  await done;
}

async function packTree(pack: tar.Pack, root: string, o: WalkOptions): Promise<void> {
  const rootSt = lstatSync(root, { bigint: true });
  if (!rootSt.isDirectory()) throw invalidParameter(`${root} is not a directory`);
  const opaque = o.overlayWhiteouts ? await findXattr(root, "trusted.overlay.opaque", "y", o.signal) : new Set<string>();
  const prefix = o.prefix === undefined ? "" : o.prefix.replace(/^\/+|\/+$/g, "");
  const links = new Map<string, string>(); // "dev:ino" → first tar name
  const epoch = o.sourceDateEpoch;

  const common = (st: BigIntStats) => {
    let secs = Number(st.mtimeNs / 1_000_000_000n);
    if (epoch !== undefined && secs > epoch) secs = epoch;
    const uid = Number(st.uid);
    const gid = Number(st.gid);
    const big = uid > USTAR_MAX_ID || gid > USTAR_MAX_ID;
    return {
      // tar-stream treats a falsy mode as "use the default", so pass the type bits too (it masks them off).
      mode: Number(st.mode),
      uid: big ? 0 : uid,
      gid: big ? 0 : gid,
      mtime: new Date(secs * 1000),
      ...(big ? { pax: { gid: String(gid), uid: String(uid) } } : {}),
    };
  };
  const tarName = (rel: string) => (prefix === "" ? rel : rel === "" ? prefix : `${prefix}/${rel}`);

  async function emit(abs: string, rel: string, st: BigIntStats): Promise<void> {
    throwIfAborted(o.signal);
    const name = tarName(rel);
    const base = rel.slice(rel.lastIndexOf("/") + 1);
    const dir = rel.slice(0, Math.max(0, rel.lastIndexOf("/")));
    if (st.isDirectory()) {
      if (name !== "") await writeEntry(pack, { ...common(st), name: `${name}/`, type: "directory" }); // docker writes "dir/"
      if (o.overlayWhiteouts && rel !== "" && opaque.has(abs)) {
        const c = common(st);
        await writeEntry(pack, { ...c, mode: c.mode & 0o777, name: `${name}/${OPAQUE_WHITEOUT}`, type: "file", size: 0 });
      }
      const names = readdirSync(abs).sort(byteOrder);
      for (const child of names) {
        const childRel = rel === "" ? child : `${rel}/${child}`;
        if (o.filter !== undefined && !o.filter(childRel)) continue;
        const childAbs = join(abs, child);
        await emit(childAbs, childRel, lstatSync(childAbs, { bigint: true }));
      }
      return;
    }
    if (o.overlayWhiteouts && st.isCharacterDevice() && st.rdev === 0n) {
      // overlayfs whiteout → OCI whiteout (moby archive_linux.go writes these as empty 0600 files)
      const wname = tarName(dir === "" ? `${WHITEOUT_PREFIX}${base}` : `${dir}/${WHITEOUT_PREFIX}${base}`);
      await writeEntry(pack, { ...common(st), mode: 0o100600, name: wname, type: "file", size: 0 });
      return;
    }
    if (st.isSymbolicLink()) {
      await writeEntry(pack, { ...common(st), name, type: "symlink", linkname: readlinkSync(abs) });
      return;
    }
    if (st.isFile()) {
      if (st.nlink > 1n) {
        const key = `${st.dev}:${st.ino}`;
        const first = links.get(key);
        if (first !== undefined) {
          await writeEntry(pack, { ...common(st), name, type: "link", linkname: first });
          return;
        }
        links.set(key, name);
      }
      const size = Number(st.size);
      if (size === 0) await writeEntry(pack, { ...common(st), name, type: "file", size });
      else if (size <= SMALL_FILE) await writeEntry(pack, { ...common(st), name, type: "file", size }, readSmall(abs, size));
      else await writeEntry(pack, { ...common(st), name, type: "file", size }, createReadStream(abs));
      return;
    }
    if (st.isFIFO()) {
      await writeEntry(pack, { ...common(st), name, type: "fifo" });
      return;
    }
    if (st.isCharacterDevice() || st.isBlockDevice()) {
      const { major, minor } = devParts(st.rdev);
      const type = st.isCharacterDevice() ? "character-device" : "block-device";
      await writeEntry(pack, { ...common(st), name, type, devmajor: major, devminor: minor });
      return;
    }
    // sockets (and anything else) cannot live in a tar: docker skips them too
  }

  await emit(root, "", rootSt);
}

function packStream(root: string, o: WalkOptions): Readable {
  const pack = tar.pack();
  packTree(pack, root, o).then(
    () => pack.finalize(),
    (err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))),
  );
  const out = Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
  if (o.signal !== undefined) {
    const signal = o.signal;
    const onAbort = () => pack.destroy(Object.assign(new Error("pack cancelled"), { name: "AbortError", cause: signal.reason }));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    out.once("close", () => signal.removeEventListener("abort", onAbort));
  }
  return out;
}

/**
 * The changeset in an overlay upper directory as a tar stream: overlay whiteouts (char 0/0) become
 * `.wh.<name>`, opaque directories (trusted.overlay.opaque=y) get a `<dir>/.wh..wh..opq` entry right
 * after their own. The upper dir must not change while it is read (the container is stopped or paused).
 * Errors fail the stream: invalid-parameter if `upperDir` is not a directory, system on I/O errors.
 */
export function diffDirectory(upperDir: string, o: PackOptions & { readonly filter?: (relPath: string) => boolean } = {}): Readable {
  return packStream(upperDir, { ...o, overlayWhiteouts: true });
}

/** A whole directory as a deterministic tar; no whiteout conversion. See PackDirectoryOptions. */
export function packDirectory(dir: string, o: PackDirectoryOptions = {}): Readable {
  return packStream(dir, { ...o, overlayWhiteouts: false });
}
