/**
 * Path resolution inside a container root filesystem that never leaves it,
 * in the manner of filepath-securejoin (used by runc and moby): each component
 * is resolved in turn, and a symlink is followed as if the rootfs were "/", so
 * an absolute or `..`-laden link target is clamped to the rootfs.
 *
 * A race with a process changing the rootfs at the same time is out of scope:
 * these helpers run before the container starts.
 */
import { lstat, mkdir, chown, readlink, open } from "node:fs/promises";
import { constants } from "node:fs";
import { posix } from "node:path";
import { invalidParameter } from "../core/errors.ts";

const MAX_SYMLINKS = 255;

/**
 * Resolves `unsafePath` (absolute or relative to the rootfs root) to a host
 * path inside `root`. Missing trailing components are allowed (they are joined
 * lexically); symlinks among existing components are resolved within root.
 * @throws invalid-parameter on a symlink loop
 */
export async function secureJoin(root: string, unsafePath: string): Promise<string> {
  const pending = posix.normalize("/" + unsafePath).split("/").filter((c) => c !== "");
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === ".") continue;
    if (part === "..") {
      resolved.pop();
      continue;
    }
    const host = posix.join(root, ...resolved, part);
    let isLink = false;
    try {
      isLink = (await lstat(host)).isSymbolicLink();
    } catch {
      isLink = false; // missing: keep lexically
    }
    if (!isLink) {
      resolved.push(part);
      continue;
    }
    if (++links > MAX_SYMLINKS) throw invalidParameter(`too many levels of symbolic links resolving ${unsafePath}`);
    const target = await readlink(host);
    if (target.startsWith("/")) resolved.length = 0;
    pending.unshift(...target.split("/").filter((c) => c !== ""));
  }
  return posix.join(root, ...resolved);
}

/**
 * Reads a file of the rootfs (e.g. /etc/passwd) without following symlinks
 * out of it. Returns undefined when the file does not exist.
 */
export async function readRootfsFile(root: string, path: string): Promise<string | undefined> {
  const host = await secureJoin(root, path);
  let fh;
  try {
    fh = await open(host, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ELOOP" || code === "ENOTDIR") return undefined;
    throw err;
  }
  try {
    if (!(await fh.stat()).isFile()) return undefined;
    return await fh.readFile("utf8");
  } finally {
    await fh.close();
  }
}

/**
 * Creates the working directory `path` inside `root` if missing, resolving
 * symlinks within the rootfs. Directories it creates get mode 0755 and owner
 * uid:gid (pass 0,0 for `docker run -w`, which creates them as root; pass the
 * user for a build's WORKDIR). Existing directories are left untouched.
 * Returns the host path.
 * @throws invalid-parameter if path is not absolute or a component is not a directory
 */
export async function ensureWorkdir(root: string, path: string, uid: number, gid: number): Promise<string> {
  if (!path.startsWith("/")) {
    throw invalidParameter(`the working directory '${path}' is invalid, it needs to be an absolute path`);
  }
  const parts = posix.normalize(path).split("/").filter((c) => c !== "");
  let current = "/";
  let host = root;
  for (const part of parts) {
    current = posix.join(current, part);
    host = await secureJoin(root, current);
    let st;
    try {
      st = await lstat(host);
    } catch {
      st = undefined;
    }
    if (st === undefined) {
      await mkdir(host, { mode: 0o755 });
      await chown(host, uid, gid);
    } else if (!st.isDirectory()) {
      throw invalidParameter(`cannot create working directory ${path}: ${current} is not a directory`);
    }
    // Continue from the resolved location so later symlinks resolve within root.
    current = "/" + posix.relative(root, host);
  }
  return host;
}
