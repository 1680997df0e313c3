/**
 * After a container's process has exited: release its network (CNI DEL,
 * netns), unmount its rootfs, drop the runtime's state, and remove the
 * container when it was started with --rm. conmon runs this as its exit
 * command (`berth container cleanup <id>`); `stop`, `rm` and a foreground
 * `run` run it too. Every step is idempotent, so running it twice, or from
 * two processes, is harmless.
 */
import { mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { EngineContext } from "./context.ts";
import {
  containerDir,
  containerRunDir,
  deleteContainerRecord,
  getContainerById,
  updateState,
  type ContainerRecord,
} from "./container-record.ts";
import { refreshContainer } from "./container-refresh.ts";
import { portMappings } from "./container-start.ts";
import { containerServices } from "./services.ts";
import { refreshPeerHosts } from "./network-hosts.ts";
import { removeAnonymousVolumes } from "./volume-remove.ts";

export async function releaseResources(ctx: EngineContext, rec: ContainerRecord, o: { runtimeDelete?: boolean } = {}): Promise<void> {
  const svc = await containerServices(ctx);
  const errors: unknown[] = [];
  const mode = rec.config.HostConfig.NetworkMode;
  if (mode !== "host" && mode !== "none" && !mode.startsWith("container:")) {
    const netns = rec.state.NetnsPath !== "" ? rec.state.NetnsPath : svc.network.netnsPath(rec.id);
    await svc.network
      .teardown({ containerId: rec.id, netns, networks: Object.keys(rec.config.Networks), ports: portMappings(rec) })
      .catch((e: unknown) => errors.push(e));
    await svc.network.removeNetns(rec.id).catch((e: unknown) => errors.push(e));
    await refreshPeerHosts(ctx, svc.network, Object.keys(rec.config.Networks), rec.id).catch(() => undefined);
  }
  if (o.runtimeDelete !== false) await svc.runtime.delete(rec.id, { force: true }).catch((e: unknown) => errors.push(e));
  await svc.snapshotter.unmount(join(containerDir(ctx, rec.id), "rootfs")).catch((e: unknown) => errors.push(e));
  if (getContainerById(ctx, rec.id) !== undefined) {
    updateState(ctx, rec.id, (s) => ({ ...s, Mounted: false, NetnsPath: "", Networks: s.Running ? s.Networks : {}, Ports: s.Running ? s.Ports : {} }));
  }
  if (errors.length > 0) throw new AggregateError(errors, `cleanup of container ${rec.id} was incomplete`);
}

/**
 * Where the final state of an auto-removed container is left for a moment, so
 * that a foreground `run --rm` can still report the exit code after conmon's
 * cleanup has removed the container. The reader deletes it.
 */
export function removedStatePath(ctx: EngineContext, id: string): string {
  return join(ctx.config.runRoot, "removed", `${id}.json`);
}

/**
 * Removes everything a container has on disk and its record. The container must not be running.
 * `volumes` (rm -v; implied by --rm) also removes its anonymous volumes that no other container uses.
 */
export async function destroyContainer(ctx: EngineContext, rec: ContainerRecord, o: { volumes?: boolean; keepExitState?: boolean } = {}): Promise<void> {
  await releaseResources(ctx, rec).catch(() => undefined);
  if (o.keepExitState === true) {
    const dir = join(ctx.config.runRoot, "removed");
    await mkdir(dir, { recursive: true });
    await writeFile(removedStatePath(ctx, rec.id), JSON.stringify({ ExitCode: rec.state.ExitCode, Error: rec.state.Error }));
    // Nobody waited for these: drop the ones older than ten minutes.
    const old = Date.now() - 10 * 60 * 1000;
    for (const f of await readdir(dir).catch(() => [] as string[])) {
      const p = join(dir, f);
      const st = await stat(p).catch(() => undefined);
      if (st !== undefined && st.mtimeMs < old) await rm(p, { force: true });
    }
  }
  await rm(containerRunDir(ctx, rec.id), { recursive: true, force: true });
  await rm(containerDir(ctx, rec.id), { recursive: true, force: true });
  deleteContainerRecord(ctx, rec.id);
  if (o.volumes === true || rec.config.HostConfig.AutoRemove) await removeAnonymousVolumes(ctx, rec.config.Berth.anonymousVolumes ?? []);
}

/** `berth container cleanup ID`: what conmon runs when the container exits. */
export async function containerCleanup(ctx: EngineContext, id: string): Promise<void> {
  let found = getContainerById(ctx, id);
  // A process that exits at once can beat its own `start` to the finish: wait
  // (bounded) until that start has recorded the container as running.
  const deadline = Date.now() + 60_000;
  while (found?.state.Status === "restarting" && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    found = getContainerById(ctx, id);
  }
  if (found === undefined) return;
  const rec = await refreshContainer(ctx, found);
  if (rec.state.Status === "running" || rec.state.Status === "paused") return;
  if (rec.config.HostConfig.AutoRemove) await destroyContainer(ctx, rec, { keepExitState: true });
  else await releaseResources(ctx, rec);
}
