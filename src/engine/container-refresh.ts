/**
 * Observing exits. No daemon watches containers: conmon writes the exit code
 * to `<runDir>/exits/<id>` and runs the cleanup command, and any berth process
 * that reads a container it believes running checks that file first. So every
 * read of a container's state is current, whoever looks.
 */
import { existsSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { EngineContext } from "./context.ts";
import { containerRunDir, getContainerById, updateState, type ContainerRecord } from "./container-record.ts";

export interface ExitInfo {
  readonly code: number;
  readonly at: Date;
  readonly oomKilled: boolean;
}

/** conmon's record of the container's exit, if it has exited. */
export async function readExit(ctx: EngineContext, id: string): Promise<ExitInfo | undefined> {
  const dir = containerRunDir(ctx, id);
  const file = join(dir, "exits", id);
  try {
    const [text, st] = await Promise.all([readFile(file, "utf8"), stat(file)]);
    const code = Number.parseInt(text.trim(), 10);
    if (!Number.isFinite(code)) return undefined;
    return { code, at: st.mtime, oomKilled: existsSync(join(dir, "oom")) };
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Brings a record up to date with what conmon observed; returns the current record. */
export async function refreshContainer(ctx: EngineContext, rec: ContainerRecord): Promise<ContainerRecord> {
  if (rec.state.Status !== "running" && rec.state.Status !== "paused") return rec;
  let exit = await readExit(ctx, rec.id);
  if (exit === undefined) {
    // A monitor that died without writing an exit (host reboot, kill -9 of conmon): the container is gone too.
    if (alive(rec.state.MonitorPid) || alive(rec.state.Pid)) return rec;
    exit = { code: 255, at: new Date(), oomKilled: false };
  }
  const e = exit;
  updateState(ctx, rec.id, (s) => {
    if (s.Status !== "running" && s.Status !== "paused") return s;
    return {
      ...s,
      Status: "exited",
      Running: false,
      Paused: false,
      Restarting: false,
      Pid: 0,
      MonitorPid: 0,
      ExitCode: e.code,
      OOMKilled: e.oomKilled,
      FinishedAt: e.at.toISOString(),
    };
  });
  return getContainerById(ctx, rec.id) ?? rec;
}
