/**
 * Named network namespaces as bind-mounted files (what `ip netns add` does, under a
 * directory of our choosing). Uses util-linux `unshare --net=<file>`, which creates the
 * namespace and bind-mounts /proc/<pid>/ns/net onto the file, so it outlives the process.
 *
 * Belongs in platform/ once that module exists; it is kept here behind two functions.
 */
import { mkdir, open, rm, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { systemError } from "../core/errors.ts";
import { run } from "./exec.ts";

async function isMountPoint(path: string): Promise<boolean> {
  const info = await readFile("/proc/self/mountinfo", "utf8");
  return info.split("\n").some((l) => l.split(" ")[4] === path);
}

/** Creates the namespace file at `path`. Idempotent: an existing mounted namespace is kept. */
export async function createNetnsAt(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  if (await isMountPoint(path)) return;
  const fh = await open(path, "a", 0o444);
  await fh.close();
  const r = await run("unshare", [`--net=${path}`, "true"]);
  if (r.code !== 0) {
    await rm(path, { force: true });
    throw systemError(`cannot create network namespace ${path}: ${r.stderr.trim()}`);
  }
}

/** Unmounts (lazily) and deletes the namespace file. Idempotent. */
export async function removeNetnsAt(path: string): Promise<void> {
  if (await isMountPoint(path)) {
    const r = await run("umount", ["-l", path]);
    if (r.code !== 0 && (await isMountPoint(path))) throw systemError(`cannot unmount network namespace ${path}: ${r.stderr.trim()}`);
  }
  await rm(path, { force: true });
}

/** Whether `path` is a live namespace mount. */
export function netnsExists(path: string): Promise<boolean> {
  return isMountPoint(path);
}
