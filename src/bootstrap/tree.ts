/**
 * Removing scratch trees safely. debootstrap mounts /proc and /sys inside its
 * target; if it is killed those mounts can outlive it. A plain recursive
 * delete would then walk into the host's /proc or /sys, so mounts below the
 * tree are unmounted first (deepest first) and the delete never crosses into
 * another filesystem.
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { execTool } from "./exec.ts";

/** Mount points at or below `dir`, deepest first (from /proc/self/mountinfo). */
export function mountsBelow(dir: string, mountinfo = "/proc/self/mountinfo"): string[] {
  const root = resolve(dir);
  let text: string;
  try {
    text = readFileSync(mountinfo, "utf8");
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(" ");
    const mp = f[4]?.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (mp !== undefined && (mp === root || mp.startsWith(`${root}/`))) out.push(mp);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** Unmounts whatever is mounted below `dir`, then deletes it without leaving its filesystem. */
export async function removeTree(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  for (const mp of mountsBelow(dir)) await execTool("umount", ["-l", mp]).catch(() => {});
  await execTool("rm", ["-rf", "--one-file-system", "--", dir]);
}
