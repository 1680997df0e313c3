/**
 * `stats`: resource usage of running containers, read from their cgroups
 * and network namespace (what moby's stats collector reads through runc).
 *
 * The cgroup is found from the container's init process
 * (`/proc/<pid>/cgroup`) and the cgroup mounts of this host
 * (`/proc/self/mountinfo`), so v1, v2 and hybrid layouts all work: on a
 * hybrid host (v1 controllers plus an empty v2 "unified" mount) each v1
 * controller has its own mount and path.
 *
 * Numbers as docker computes them (docker/cli cli/command/container/stats_helpers.go):
 * CPU % = Δcontainer CPU time / Δhost CPU time × online CPUs × 100 over the
 * sampling interval; memory usage excludes the inactive page cache
 * (v1 total_inactive_file, v2 inactive_file); no limit → the host's memory;
 * network I/O sums the namespace's interfaces except lo.
 */
import { readFile } from "node:fs/promises";
import { availableParallelism, totalmem } from "node:os";
import { join } from "node:path";
import { throwIfAborted } from "../core/index.ts";
import type { EngineContext } from "./context.ts";
import { findContainer, type ContainerRecord } from "./container-record.ts";
import { refreshContainer } from "./container-refresh.ts";

interface CgroupMount {
  /** v1 controllers of the hierarchy ("cpu", "cpuacct", ...); empty for v2. */
  readonly controllers: readonly string[];
  readonly v2: boolean;
  readonly mountPoint: string;
  /** The cgroup path the mount's root corresponds to ("/" normally). */
  readonly root: string;
}

async function cgroupMounts(): Promise<CgroupMount[]> {
  const text = await readFile("/proc/self/mountinfo", "utf8");
  const out: CgroupMount[] = [];
  for (const line of text.split("\n")) {
    const [pre, post] = line.split(" - ");
    if (pre === undefined || post === undefined) continue;
    const f = pre.split(" ");
    const [fstype, , superOpts = ""] = post.split(" ");
    const root = f[3] ?? "/";
    const mountPoint = (f[4] ?? "").replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (fstype === "cgroup2") out.push({ controllers: [], v2: true, mountPoint, root });
    else if (fstype === "cgroup") out.push({ controllers: superOpts.split(",").filter((o) => o !== "rw" && o !== "ro"), v2: false, mountPoint, root });
  }
  return out;
}

/** Directory per controller ("memory", "cpuacct", "pids", "blkio", "cpu") and "" for the v2 group, for a process. */
export async function cgroupDirs(pid: number): Promise<Map<string, string>> {
  const mounts = await cgroupMounts();
  const text = await readFile(`/proc/${pid}/cgroup`, "utf8");
  const dirs = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (m === null) continue;
    const [, , ctrls = "", path = "/"] = m;
    if (ctrls === "") {
      const mnt = mounts.find((x) => x.v2);
      if (mnt !== undefined) dirs.set("", join(mnt.mountPoint, relativeTo(path, mnt.root)));
      continue;
    }
    for (const c of ctrls.split(",")) {
      const mnt = mounts.find((x) => !x.v2 && x.controllers.includes(c));
      if (mnt !== undefined) dirs.set(c, join(mnt.mountPoint, relativeTo(path, mnt.root)));
    }
  }
  return dirs;
}

function relativeTo(path: string, root: string): string {
  if (root === "/" || root === "") return path;
  return path.startsWith(root) ? path.slice(root.length) || "/" : path;
}

async function readText(p: string): Promise<string | undefined> {
  try {
    return await readFile(p, "utf8");
  } catch {
    return undefined;
  }
}

async function readNum(p: string): Promise<number | undefined> {
  const t = await readText(p);
  if (t === undefined) return undefined;
  const n = Number(t.trim());
  return Number.isFinite(n) ? n : undefined;
}

function kv(text: string | undefined): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of (text ?? "").split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k !== undefined && v !== undefined && v !== "") m.set(k, Number(v));
  }
  return m;
}

/** PIDs of every process in the container (its init's cgroup: pids, then v2, then any controller). */
export async function containerPids(initPid: number): Promise<number[]> {
  const dirs = await cgroupDirs(initPid);
  const candidates = [dirs.get("pids"), dirs.get("") , dirs.get("memory"), dirs.get("cpu")].filter((d): d is string => d !== undefined);
  for (const d of candidates) {
    const t = await readText(join(d, "cgroup.procs"));
    if (t === undefined) continue;
    const pids = t.split("\n").filter((l) => l.trim() !== "").map(Number);
    if (pids.length > 0) return pids;
  }
  return [initPid];
}

interface Sample {
  /** Container CPU time, ns. */
  cpu: number;
  /** Host CPU time, ns (all CPUs). */
  system: number;
  memUsage: number;
  memLimit: number;
  netRx: number;
  netTx: number;
  blkRead: number;
  blkWrite: number;
  pids: number;
}

const CLK_TCK = 100;

async function hostCpuNs(): Promise<number> {
  const t = (await readText("/proc/stat")) ?? "";
  const line = t.split("\n").find((l) => l.startsWith("cpu "));
  if (line === undefined) return 0;
  const ticks = line.trim().split(/\s+/).slice(1, 8).map(Number).reduce((a, b) => a + b, 0);
  return (ticks * 1e9) / CLK_TCK;
}

async function sample(pid: number): Promise<Sample> {
  const dirs = await cgroupDirs(pid);
  const v2 = dirs.get("");
  const memDir = dirs.get("memory");
  let cpu = 0;
  let memUsage = 0;
  let memLimit = Infinity;
  let blkRead = 0;
  let blkWrite = 0;
  let pids = 0;
  const cpuacct = dirs.get("cpuacct");
  const usage = cpuacct === undefined ? undefined : await readNum(join(cpuacct, "cpuacct.usage"));
  if (usage !== undefined) cpu = usage;
  else if (v2 !== undefined) cpu = (kv(await readText(join(v2, "cpu.stat"))).get("usage_usec") ?? 0) * 1000;

  const memV1 = memDir === undefined ? undefined : await readNum(join(memDir, "memory.usage_in_bytes"));
  if (memV1 !== undefined && memDir !== undefined) {
    const st = kv(await readText(join(memDir, "memory.stat")));
    memUsage = Math.max(0, memV1 - (st.get("total_inactive_file") ?? 0));
    memLimit = (await readNum(join(memDir, "memory.limit_in_bytes"))) ?? Infinity;
  } else if (v2 !== undefined) {
    const cur = (await readNum(join(v2, "memory.current"))) ?? 0;
    const st = kv(await readText(join(v2, "memory.stat")));
    memUsage = Math.max(0, cur - (st.get("inactive_file") ?? 0));
    memLimit = (await readNum(join(v2, "memory.max"))) ?? Infinity;
  }
  const host = totalmem();
  if (!(memLimit > 0) || memLimit > host) memLimit = host;

  const blk = dirs.get("blkio");
  if (blk !== undefined) {
    let t = await readText(join(blk, "blkio.throttle.io_service_bytes_recursive"));
    if (t === undefined || !/\d+:\d+ (Read|Write)/.test(t)) t = (await readText(join(blk, "blkio.io_service_bytes_recursive"))) ?? t;
    for (const line of (t ?? "").split("\n")) {
      const [, op, v] = line.trim().split(/\s+/);
      if (op === "Read") blkRead += Number(v);
      else if (op === "Write") blkWrite += Number(v);
    }
  } else if (v2 !== undefined) {
    for (const line of ((await readText(join(v2, "io.stat"))) ?? "").split("\n")) {
      for (const f of line.split(/\s+/).slice(1)) {
        const [k, v] = f.split("=");
        if (k === "rbytes") blkRead += Number(v);
        else if (k === "wbytes") blkWrite += Number(v);
      }
    }
  }
  const pidsDir = dirs.get("pids") ?? v2;
  pids = (pidsDir === undefined ? undefined : await readNum(join(pidsDir, "pids.current"))) ?? (await containerPids(pid)).length;

  let netRx = 0;
  let netTx = 0;
  for (const line of ((await readText(`/proc/${pid}/net/dev`)) ?? "").split("\n").slice(2)) {
    const [name, rest] = line.split(":");
    if (name === undefined || rest === undefined || name.trim() === "lo") continue;
    const f = rest.trim().split(/\s+/).map(Number);
    netRx += f[0] ?? 0;
    netTx += f[8] ?? 0;
  }
  return { cpu, system: await hostCpuNs(), memUsage, memLimit, netRx, netTx, blkRead, blkWrite, pids };
}

export interface ContainerStats {
  readonly id: string;
  readonly name: string;
  /** Percent of one CPU × online CPUs, as docker. */
  readonly cpuPercent: number;
  readonly memUsage: number;
  readonly memLimit: number;
  readonly memPercent: number;
  readonly netRx: number;
  readonly netTx: number;
  readonly blockRead: number;
  readonly blockWrite: number;
  readonly pids: number;
  readonly running: boolean;
}

function zero(rec: ContainerRecord): ContainerStats {
  return { id: rec.id, name: rec.name, cpuPercent: 0, memUsage: 0, memLimit: 0, memPercent: 0, netRx: 0, netTx: 0, blockRead: 0, blockWrite: 0, pids: 0, running: false };
}

/**
 * One stats reading for each container: two samples `intervalMs` apart
 * (default 1000, like the Engine API's stream=false). Stopped containers give zeros.
 * @throws not-found for an unknown container
 */
export async function containerStats(
  ctx: EngineContext,
  o: { containers: readonly string[]; intervalMs?: number; signal?: AbortSignal },
): Promise<ContainerStats[]> {
  const recs: ContainerRecord[] = [];
  for (const c of o.containers) recs.push(await refreshContainer(ctx, findContainer(ctx, c)));
  const live = (r: ContainerRecord) => (r.state.Status === "running" || r.state.Status === "paused") && r.state.Pid > 0;
  const first = new Map<string, Sample>();
  for (const r of recs) {
    if (!live(r)) continue;
    const s = await sample(r.state.Pid).catch(() => undefined);
    if (s !== undefined) first.set(r.id, s);
  }
  throwIfAborted(o.signal);
  if (first.size > 0) {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, o.intervalMs ?? 1000);
      o.signal?.addEventListener("abort", () => { clearTimeout(t); resolve(); }, { once: true });
    });
    throwIfAborted(o.signal);
  }
  const cpus = availableParallelism();
  const out: ContainerStats[] = [];
  for (const r of recs) {
    const a = first.get(r.id);
    if (a === undefined) {
      out.push(zero(r));
      continue;
    }
    let b: Sample;
    try {
      b = await sample(r.state.Pid);
    } catch {
      out.push(zero(r)); // exited meanwhile
      continue;
    }
    const dCpu = b.cpu - a.cpu;
    const dSys = b.system - a.system;
    const cpuPercent = dCpu > 0 && dSys > 0 ? (dCpu / dSys) * cpus * 100 : 0;
    out.push({
      id: r.id,
      name: r.name,
      cpuPercent,
      memUsage: b.memUsage,
      memLimit: b.memLimit,
      memPercent: b.memLimit > 0 ? (b.memUsage / b.memLimit) * 100 : 0,
      netRx: b.netRx,
      netTx: b.netTx,
      blockRead: b.blkRead,
      blockWrite: b.blkWrite,
      pids: b.pids,
      running: true,
    });
  }
  return out;
}
