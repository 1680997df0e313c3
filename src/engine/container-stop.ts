/**
 * `stop` (StopSignal, then SIGKILL after the timeout), `kill`, `restart`,
 * `pause`, `unpause` (moby daemon/stop.go, kill.go).
 */
import { conflict, invalidParameter, notModified } from "../core/index.ts";
import { normalizeSignal } from "../runtime/index.ts";
import type { EngineContext } from "./context.ts";
import { containerCleanup } from "./container-cleanup.ts";
import { findContainer, updateState, type ContainerRecord } from "./container-record.ts";
import { refreshContainer } from "./container-refresh.ts";
import { containerStart } from "./container-start.ts";
import { waitForExit } from "./container-wait.ts";
import { containerServices } from "./services.ts";

async function current(ctx: EngineContext, idOrName: string): Promise<ContainerRecord> {
  return refreshContainer(ctx, findContainer(ctx, idOrName));
}

export async function containerKill(ctx: EngineContext, idOrName: string, o: { signal?: string; abort?: AbortSignal } = {}): Promise<void> {
  const rec = await current(ctx, idOrName);
  if (rec.state.Status !== "running" && rec.state.Status !== "paused") throw conflict(`Container ${rec.id} is not running`);
  let sig: string;
  try {
    sig = normalizeSignal(o.signal ?? "SIGKILL");
  } catch (err) {
    throw invalidParameter(`Invalid signal: ${o.signal ?? ""}`, { cause: err });
  }
  const svc = await containerServices(ctx);
  await svc.runtime.kill(rec.id, sig, o.abort === undefined ? {} : { signal: o.abort });
}

export async function containerStop(ctx: EngineContext, idOrName: string, o: { timeout?: number; signal?: string; abort?: AbortSignal } = {}): Promise<void> {
  const rec = await current(ctx, idOrName);
  if (rec.state.Status !== "running" && rec.state.Status !== "paused") throw notModified("container already stopped");
  const svc = await containerServices(ctx);
  const timeout = o.timeout ?? rec.config.StopTimeout ?? 10;
  const stopSignal = o.signal ?? rec.config.StopSignal;
  if (rec.state.Status === "paused") {
    // A frozen process cannot handle its signal: send it, then thaw.
    await svc.runtime.kill(rec.id, normalizeSignal(stopSignal)).catch(() => undefined);
    await svc.runtime.resume(rec.id).catch(() => undefined);
  } else if (timeout !== 0) {
    await svc.runtime.kill(rec.id, normalizeSignal(stopSignal)).catch(() => undefined);
  }
  if (timeout >= 0) {
    const t = AbortSignal.timeout(Math.max(timeout, 0) * 1000);
    try {
      await waitForExit(ctx, rec.id, { signal: t });
    } catch {
      await svc.runtime.kill(rec.id, "SIGKILL", { all: true }).catch(() => undefined);
      await waitForExit(ctx, rec.id);
    }
  } else {
    await waitForExit(ctx, rec.id);
  }
  await containerCleanup(ctx, rec.id);
}

export async function containerRestart(ctx: EngineContext, idOrName: string, o: { timeout?: number; signal?: string; abort?: AbortSignal } = {}): Promise<void> {
  const rec = await current(ctx, idOrName);
  if (rec.state.Status === "running" || rec.state.Status === "paused") await containerStop(ctx, rec.id, o);
  const restarted = findContainer(ctx, rec.id);
  updateState(ctx, restarted.id, (s) => ({ ...s, RestartCount: s.RestartCount }));
  await containerStart(ctx, rec.id, o.abort === undefined ? {} : { signal: o.abort });
}

export async function containerPause(ctx: EngineContext, idOrName: string): Promise<void> {
  const rec = await current(ctx, idOrName);
  if (rec.state.Status === "paused") throw conflict(`Container ${rec.id} is already paused`);
  if (rec.state.Status !== "running") throw conflict(`Container ${rec.id} is not running`);
  const svc = await containerServices(ctx);
  await svc.runtime.pause(rec.id);
  updateState(ctx, rec.id, (s) => ({ ...s, Status: "paused", Paused: true }));
}

export async function containerUnpause(ctx: EngineContext, idOrName: string): Promise<void> {
  const rec = await current(ctx, idOrName);
  if (rec.state.Status !== "paused") throw conflict(`Container ${rec.id} is not paused`);
  const svc = await containerServices(ctx);
  await svc.runtime.resume(rec.id);
  updateState(ctx, rec.id, (s) => ({ ...s, Status: "running", Paused: false }));
}
