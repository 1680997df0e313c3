/**
 * Waiting for a container to exit: conmon writes `<runDir>/exits/<id>`; the
 * waiter watches that directory (inotify) with a slow poll as a fallback, so
 * any berth process can wait on any container.
 */
import { watch } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { cancelled, notFound, throwIfAborted } from "../core/index.ts";
import { readFile, rm } from "node:fs/promises";
import { removedStatePath } from "./container-cleanup.ts";
import { initialState } from "./container-record.ts";
import type { EngineContext } from "./context.ts";
import { containerRunDir, findContainer, getContainerById, type ContainerRecord } from "./container-record.ts";
import { readExit, refreshContainer } from "./container-refresh.ts";

export async function waitForExit(ctx: EngineContext, id: string, o: { signal?: AbortSignal } = {}): Promise<ContainerRecord> {
  const exitsDir = join(containerRunDir(ctx, id), "exits");
  await mkdir(exitsDir, { recursive: true });
  for (;;) {
    throwIfAborted(o.signal);
    const rec = getContainerById(ctx, id);
    if (rec === undefined) {
      const removed = await readRemoved(ctx, id);
      if (removed !== undefined) return removed;
      throw notFound(`No such container: ${id}`);
    }
    if (rec.state.Status !== "running" && rec.state.Status !== "paused" && rec.state.Status !== "restarting") return rec;
    if ((await readExit(ctx, id)) !== undefined || rec.state.Status !== "restarting") {
      const fresh = await refreshContainer(ctx, rec);
      if (fresh.state.Status !== "running" && fresh.state.Status !== "paused") return fresh;
    }
    await new Promise<void>((resolve, reject) => {
      const w = watch(exitsDir, () => done());
      const t = setTimeout(() => done(), 250);
      const onAbort = (): void => {
        reject(cancelled("wait cancelled", { cause: o.signal?.reason }));
        done();
      };
      function done(): void {
        w.close();
        clearTimeout(t);
        o.signal?.removeEventListener("abort", onAbort);
        resolve();
      }
      if (o.signal?.aborted) onAbort();
      else o.signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}

/** `wait`: blocks until the container stops; returns its exit code. */
export async function containerWait(ctx: EngineContext, idOrName: string, o: { signal?: AbortSignal; condition?: "not-running" | "next-exit" | "removed" } = {}): Promise<{ StatusCode: number }> {
  const rec = findContainer(ctx, idOrName);
  const done = await waitForExit(ctx, rec.id, o);
  return { StatusCode: done.state.ExitCode };
}

/** The final state an auto-removed container left behind (see removedStatePath), as a minimal record. */
async function readRemoved(ctx: EngineContext, id: string): Promise<ContainerRecord | undefined> {
  const path = removedStatePath(ctx, id);
  try {
    const v = JSON.parse(await readFile(path, "utf8")) as { ExitCode: number; Error: string };
    await rm(path, { force: true });
    return {
      id,
      name: "",
      imageId: "",
      created: "",
      config: undefined as never,
      state: { ...initialState(), Status: "exited", ExitCode: v.ExitCode, Error: v.Error },
    };
  } catch {
    return undefined;
  }
}
