/**
 * `top`: the container's processes as the host's `ps` sees them (moby
 * daemon/top_unix.go): the PIDs come from the container's cgroup, `ps` runs
 * with the user's options (default -ef), and only the lines whose PID column
 * is one of them are kept.
 */
import { execFile } from "node:child_process";
import { conflict, invalidParameter, systemError } from "../core/index.ts";
import type { EngineContext } from "./context.ts";
import { findContainer } from "./container-record.ts";
import { refreshContainer } from "./container-refresh.ts";
import { containerPids } from "./container-stats.ts";

export interface TopResult {
  readonly Titles: string[];
  readonly Processes: string[][];
}

/** Parses `ps` output, keeping the rows whose PID is in `pids` (moby parsePSOutput). */
export function parsePs(output: string, pids: ReadonlySet<number>): TopResult {
  const lines = output.split("\n");
  const Titles = (lines[0] ?? "").trim().split(/\s+/).filter((t) => t !== "");
  const pidIndex = Titles.indexOf("PID");
  if (pidIndex < 0) throw invalidParameter("Couldn't find PID field in ps output");
  const Processes: string[][] = [];
  for (const line of lines.slice(1)) {
    if (line.trim() === "") continue;
    const fields = line.trim().split(/\s+/);
    const pid = Number(fields[pidIndex]);
    if (!Number.isInteger(pid) || !pids.has(pid)) continue;
    const n = Titles.length;
    const row = fields.slice(0, n - 1);
    row.push(fields.slice(n - 1).join(" "));
    Processes.push(row);
  }
  return { Titles, Processes };
}

/** @throws conflict when the container is not running; invalid-parameter for ps options ps rejects */
export async function containerTop(ctx: EngineContext, idOrName: string, o: { psArgs?: readonly string[]; signal?: AbortSignal } = {}): Promise<TopResult> {
  const rec = await refreshContainer(ctx, findContainer(ctx, idOrName));
  if (rec.state.Status !== "running" && rec.state.Status !== "paused") throw conflict(`Container ${rec.id} is not running`);
  const pids = new Set(await containerPids(rec.state.Pid));
  const args = o.psArgs === undefined || o.psArgs.length === 0 ? ["-ef"] : [...o.psArgs];
  const out = await new Promise<string>((resolve, reject) => {
    execFile("ps", args, { maxBuffer: 64 << 20, ...(o.signal === undefined ? {} : { signal: o.signal }) }, (err, stdout, stderr) => {
      if (err !== null) {
        reject(invalidParameter(`Error running ps: ${String(stderr).trim() || err.message}`, { cause: err }));
        return;
      }
      resolve(stdout);
    });
  }).catch((e: unknown) => {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw systemError("ps not found on the host", { cause: e });
    throw e;
  });
  return parsePs(out, pids);
}
