/**
 * Member names inside an archive: normalised, and checked never to leave the
 * archive root (no absolute paths, no ".." components), as containerd's
 * archive breakout tests demand. Links are resolved logically here; nothing
 * from an archive is ever written to the filesystem by its own name.
 */
import { posix } from "node:path";
import { invalidParameter } from "../core/index.ts";

/**
 * Normalises a member name ("./a//b/" → "a/b").
 * @throws invalid-parameter for absolute names and names with ".." components
 */
export function memberName(raw: string): string {
  if (raw.includes("\0")) throw invalidParameter(`invalid archive member name ${JSON.stringify(raw)}`);
  if (raw.startsWith("/")) {
    throw invalidParameter(`invalid archive member ${JSON.stringify(raw)}: absolute paths are not allowed`);
  }
  if (raw.split("/").includes("..")) {
    throw invalidParameter(`invalid archive member ${JSON.stringify(raw)}: path escapes the archive`);
  }
  const n = posix.normalize(raw).replace(/\/+$/, "");
  return n === "." ? "" : n.replace(/^\.\//, "");
}

/**
 * Resolves `target` (a path named by manifest.json, or a symlink target relative
 * to `base`) to a member name inside the archive.
 * @throws invalid-parameter when it points outside the archive
 */
export function resolveInside(base: string, target: string, what: string): string {
  if (target.startsWith("/")) {
    throw invalidParameter(`${what}: ${JSON.stringify(target)} is an absolute path outside the archive`);
  }
  const joined = posix.normalize(posix.join(base === "" ? "." : base, target));
  if (joined === ".." || joined.startsWith("../") || joined.startsWith("/")) {
    throw invalidParameter(`${what}: ${JSON.stringify(target)} points outside the archive`);
  }
  return joined === "." ? "" : joined;
}
