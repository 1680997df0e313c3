/**
 * How containers use volumes: resolving a container's volume mounts at create (named
 * volumes created, anonymous volumes for the image's VOLUME paths and `-v /path`,
 * `--volumes-from`), readying them at start (copy-up), and who uses a volume.
 */
import { lstat } from "node:fs/promises";
import { join } from "node:path";
import { invalidParameter } from "../core/index.ts";
import { VolumeStore } from "../volumes/index.ts";
import type { EngineContext } from "./context.ts";
import { findContainer, listContainers, type MountSpec } from "./container-record.ts";

const stores = new WeakMap<EngineContext, VolumeStore>();

export function volumeStoreOf(ctx: EngineContext): VolumeStore {
  let s = stores.get(ctx);
  if (s === undefined) {
    s = new VolumeStore({ db: ctx.db, root: ctx.config.root, now: ctx.now });
    stores.set(ctx, s);
  }
  return s;
}

/** IDs of the containers (any state) that mount the named volume. */
export function volumeUsers(ctx: EngineContext, name: string): string[] {
  return listContainers(ctx)
    .filter((r) => r.config.HostConfig.Mounts.some((m) => m.Type === "volume" && m.Name === name))
    .map((r) => r.id);
}

function clean(p: string): string {
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return `/${out.join("/")}`;
}

/**
 * The final mount list of a new container, docker's order of precedence: explicit mounts
 * (-v, --mount) first, then --volumes-from (targets not already taken), then anonymous
 * volumes for the image's VOLUME paths not already covered. Named volumes are created
 * when missing; every volume mount gets `Source` = its mountpoint.
 * @returns the mounts and the names of the anonymous volumes created
 * @throws invalid-parameter for a duplicate mount point or a bad --volumes-from mode
 * @throws not-found for an unknown --volumes-from container
 */
export async function resolveVolumeMounts(
  ctx: EngineContext,
  o: { mounts: readonly MountSpec[]; imageVolumes: readonly string[]; volumesFrom: readonly string[]; tmpfsTargets: readonly string[] },
): Promise<{ mounts: MountSpec[]; anonymous: string[] }> {
  const store = volumeStoreOf(ctx);
  const taken = new Set<string>(o.tmpfsTargets.map(clean));
  const out: MountSpec[] = [];
  const anonymous: string[] = [];
  const created: string[] = [];
  try {
    for (const m of o.mounts) {
      const target = clean(m.Target);
      if (taken.has(target)) throw invalidParameter(`Duplicate mount point: ${target}`);
      taken.add(target);
      if (m.Type !== "volume") {
        out.push({ ...m, Target: target });
        continue;
      }
      const anon = m.Name === undefined || m.Name === "";
      const existed = anon ? undefined : store.find(m.Name!);
      const v = existed ?? (await store.create({ ...(anon ? { anonymous: true } : { name: m.Name! }) }));
      if (existed === undefined) created.push(v.Name);
      if (anon) anonymous.push(v.Name);
      out.push({ ...m, Target: target, Name: v.Name, Source: v.Mountpoint });
    }
    for (const spec of o.volumesFrom) {
      const [ref = "", mode, ...rest] = spec.split(":");
      if (rest.length > 0 || (mode !== undefined && mode !== "ro" && mode !== "rw")) throw invalidParameter(`invalid mode for volumes-from: ${mode ?? ""}`);
      const from = findContainer(ctx, ref);
      for (const m of from.config.HostConfig.Mounts) {
        if (m.Type === "tmpfs" || taken.has(m.Target)) continue;
        taken.add(m.Target);
        out.push({ ...m, ReadOnly: mode === undefined ? m.ReadOnly : mode === "ro" });
      }
    }
    for (const path of o.imageVolumes) {
      const target = clean(path);
      if (taken.has(target)) continue;
      taken.add(target);
      const v = await store.create({ anonymous: true });
      created.push(v.Name);
      anonymous.push(v.Name);
      out.push({ Type: "volume", Source: v.Mountpoint, Name: v.Name, Target: target, ReadOnly: false });
    }
  } catch (e) {
    for (const n of created) await store.remove(n).catch(() => undefined);
    throw e;
  }
  return { mounts: out, anonymous };
}

/**
 * Readies a volume mount for start: copies the image's content at the target into an
 * empty volume unless `nocopy` is set (the rootfs must be mounted). The copy source is
 * only used when no component of the target path inside the rootfs is a symbolic link,
 * so a link in the image can never point the copy at the host.
 */
export async function prepareVolumeMount(ctx: EngineContext, m: MountSpec, rootfs: string, signal?: AbortSignal): Promise<string> {
  const store = volumeStoreOf(ctx);
  const name = m.Name ?? "";
  if (store.find(name) === undefined) await store.create({ name });
  const nocopy = (m.Options ?? []).includes("nocopy");
  let copyFrom: string | undefined;
  if (!nocopy && (await safeDir(rootfs, m.Target))) copyFrom = join(rootfs, m.Target);
  return store.prepareUse(name, { ...(copyFrom === undefined ? {} : { copyFrom }), ...(signal === undefined ? {} : { signal }) });
}

async function safeDir(root: string, target: string): Promise<boolean> {
  let p = root;
  for (const part of clean(target).split("/").filter((x) => x !== "")) {
    p = join(p, part);
    const st = await lstat(p).catch(() => undefined);
    if (st === undefined || st.isSymbolicLink()) return false;
  }
  return true;
}
