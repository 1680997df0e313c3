/**
 * `diff`: what changed in a container's filesystem, from its overlay upper
 * dir compared with the image's layers (moby pkg/archive changes.go
 * `changes` with overlayDeletedFile):
 *
 * - a whiteout (char device 0/0) or an opaque directory (trusted.overlay.opaque=y) → D;
 * - a path found in some lower dir → C, except a directory whose size, mode
 *   and mtime equal the lower one's (unchanged, only a parent of changes);
 * - anything else → A;
 * - the parent of an A or D not yet listed is listed as C first.
 *
 * Order is moby's walk order: depth first, names sorted by bytes, a
 * directory before its content. Works on stopped and running containers
 * (the upper dir is read as it is; a running container may change it meanwhile).
 */
import { lstatSync, readdirSync, statSync, type BigIntStats } from "node:fs";
import { join } from "node:path";
import { findXattr } from "../layers/host-commands.ts";
import type { EngineContext } from "./context.ts";
import { containerDir, findContainer, type ContainerRecord } from "./container-record.ts";

/** Docker API kinds: 0 modified, 1 added, 2 deleted. */
export type ChangeKind = 0 | 1 | 2;

export interface Change {
  readonly Path: string;
  readonly Kind: ChangeKind;
}

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Go's sameFsTime: equal, or same second when either side has no sub-second part. */
function sameTime(a: bigint, b: bigint): boolean {
  if (a === b) return true;
  const sa = a / 1_000_000_000n;
  const sb = b / 1_000_000_000n;
  return sa === sb && (a % 1_000_000_000n === 0n || b % 1_000_000_000n === 0n);
}

/**
 * Paths berth's runtime creates in the upper dir as mount points (docker
 * keeps these in a separate "-init" layer, so its diff never shows them).
 */
export const INIT_PATHS: readonly string[] = ["/etc/hostname", "/etc/hosts", "/etc/resolv.conf", "/dev", "/proc", "/sys", "/.dockerenv", "/etc/mtab"];

/**
 * Changes between an upper dir and its lower dirs (topmost first). `ignore`
 * lists mount points to leave out: the path itself, and a directory of the
 * lower layers that holds nothing else.
 */
export async function changesOf(upper: string, lowers: readonly string[], o: { signal?: AbortSignal; ignore?: readonly string[] } = {}): Promise<Change[]> {
  const opaque = await findXattr(upper, "trusted.overlay.opaque", "y", o.signal);
  const ignore = new Set(o.ignore ?? []);
  const out: Change[] = [];
  const changedDirs = new Set<string>();
  const inLower = (path: string) => lowers.some((l) => lstatSync(join(l, path), { throwIfNoEntry: false }) !== undefined);
  /** Whether a directory holds anything that is not ignored. */
  const hasContent = (abs: string, path: string): boolean =>
    readdirSync(abs).some((name) => {
      const childPath = path === "/" ? `/${name}` : `${path}/${name}`;
      if (ignore.has(childPath)) return false;
      const childAbs = join(abs, name);
      const st = lstatSync(childAbs);
      return !st.isDirectory() || !inLower(childPath) || hasContent(childAbs, childPath);
    });
  const walk = (abs: string, path: string): void => {
    for (const name of readdirSync(abs).sort(byteOrder)) {
      const childAbs = join(abs, name);
      const childPath = path === "/" ? `/${name}` : `${path}/${name}`;
      if (ignore.has(childPath)) continue;
      const st = lstatSync(childAbs, { bigint: true });
      if (st.isDirectory() && !opaque.has(childAbs) && inLower(childPath) && !hasContent(childAbs, childPath)) continue;
      visit(childAbs, childPath, st);
      if (st.isDirectory()) walk(childAbs, childPath);
    }
  };
  const visit = (abs: string, path: string, st: BigIntStats): void => {
    let kind: ChangeKind;
    const deleted = (st.isCharacterDevice() && st.rdev === 0n) || (st.isDirectory() && opaque.has(abs));
    if (deleted) kind = 2;
    else {
      kind = 1;
      for (const lower of lowers) {
        let ls: BigIntStats | undefined;
        try {
          ls = statSync(join(lower, path), { bigint: true });
        } catch {
          ls = undefined;
        }
        if (ls === undefined) continue;
        if (ls.isDirectory() && st.isDirectory() && ls.size === st.size && ls.mode === st.mode && sameTime(ls.mtimeNs, st.mtimeNs)) return;
        kind = 0;
        break;
      }
    }
    if (st.isDirectory()) changedDirs.add(path);
    if (kind !== 0) {
      const parent = path.slice(0, path.lastIndexOf("/")) || "/";
      if (parent !== "/" && !changedDirs.has(parent)) {
        out.push({ Path: parent, Kind: 0 });
        changedDirs.add(parent);
      }
    }
    out.push({ Path: path, Kind: kind });
  };
  walk(upper, "/");
  return out;
}

/**
 * What docker keeps in a container's init layer rather than its writable one:
 * the files berth bind-mounts (/etc/hosts, /etc/hostname, /etc/resolv.conf),
 * the kernel filesystems, and the targets of the container's mounts. Their
 * placeholders in the upper dir are neither changes (`diff`) nor committed.
 */
export function initLayerPaths(rec: ContainerRecord): string[] {
  const hc = rec.config.HostConfig;
  return [...INIT_PATHS, ...hc.Mounts.map((m) => m.Target), ...Object.keys(hc.Tmpfs)];
}

/** `diff CONTAINER`. @throws not-found */
export async function containerChanges(ctx: EngineContext, idOrName: string, o: { signal?: AbortSignal } = {}): Promise<Change[]> {
  const rec = findContainer(ctx, idOrName);
  return changesOf(join(containerDir(ctx, rec.id), "upper"), rec.config.Berth.lowerDirs, { ...o, ignore: initLayerPaths(rec) });
}

/** "C /etc" as docker prints a change. */
export function changeLine(c: Change): string {
  return `${c.Kind === 0 ? "C" : c.Kind === 1 ? "A" : "D"} ${c.Path}`;
}
