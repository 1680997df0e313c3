/** `rm` (moby daemon/delete.go): a running container needs -f; -v also removes its anonymous volumes. */
import { conflict } from "../core/index.ts";
import type { EngineContext } from "./context.ts";
import { destroyContainer } from "./container-cleanup.ts";
import { findContainer, getContainerById } from "./container-record.ts";
import { refreshContainer } from "./container-refresh.ts";
import { waitForExit } from "./container-wait.ts";
import { containerServices } from "./services.ts";

export async function containerRemove(ctx: EngineContext, idOrName: string, o: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
  const rec = await refreshContainer(ctx, findContainer(ctx, idOrName));
  if (rec.state.Status === "running" || rec.state.Status === "paused" || rec.state.Status === "restarting") {
    if (o.force !== true) {
      throw conflict(
        `cannot remove container "/${rec.name}": container is ${rec.state.Status}: stop the container before removing or force remove`,
      );
    }
    const svc = await containerServices(ctx);
    await svc.runtime.kill(rec.id, "SIGKILL", { all: true }).catch(() => undefined);
    if (rec.state.Status === "paused") await svc.runtime.resume(rec.id).catch(() => undefined);
    await waitForExit(ctx, rec.id, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
  }
  const now = getContainerById(ctx, rec.id);
  if (now === undefined) return; // --rm cleanup got there first
  await destroyContainer(ctx, now, { volumes: o.volumes === true });
}
