/** `info` and `version`: facts about the engine and the host (GET /info, GET /version). */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cpus, hostname, machine, release, totalmem } from "node:os";
import { promisify } from "node:util";
import type { EngineContext } from "./context.ts";

const run = promisify(execFile);

export const ENGINE_VERSION = "0.1.0";
export const API_VERSION = "1.45";
export const MIN_API_VERSION = "1.24";

/** "2" on a unified host, "1" when v1 controllers are mounted (also hybrid hosts, as docker reports them). */
export function cgroupVersion(): { version: "1" | "2"; hybrid: boolean } {
  const v1Controllers = existsSync("/sys/fs/cgroup/memory") || existsSync("/sys/fs/cgroup/cpu");
  const unified = existsSync("/sys/fs/cgroup/cgroup.controllers");
  if (unified && !v1Controllers) return { version: "2", hybrid: false };
  return { version: "1", hybrid: existsSync("/sys/fs/cgroup/unified") };
}

function osName(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync("/etc/os-release", "utf8"));
    return m?.[1] ?? "Linux";
  } catch {
    return "Linux";
  }
}

async function versionOf(bin: string): Promise<string | undefined> {
  try {
    const { stdout } = await run(bin, ["--version"], { timeout: 5000 });
    return stdout.split("\n")[0]?.trim();
  } catch {
    return undefined;
  }
}

export interface SystemInfo {
  readonly ID: string;
  readonly Containers: number;
  readonly ContainersRunning: number;
  readonly ContainersPaused: number;
  readonly ContainersStopped: number;
  readonly Images: number;
  readonly Driver: string;
  readonly DriverStatus: [string, string][];
  readonly CgroupDriver: string;
  readonly CgroupVersion: string;
  readonly KernelVersion: string;
  readonly OperatingSystem: string;
  readonly OSType: string;
  readonly Architecture: string;
  readonly NCPU: number;
  readonly MemTotal: number;
  readonly Name: string;
  readonly ServerVersion: string;
  readonly DockerRootDir: string;
  readonly Runtimes: Record<string, { path: string; version?: string; status?: string }>;
  readonly DefaultRuntime: string;
  readonly RegistryConfig: { Mirrors: string[]; InsecureRegistryCIDRs: string[] };
  readonly Debug: boolean;
}

export async function systemInfo(ctx: EngineContext, runtimes: SystemInfo["Runtimes"], defaultRuntime: string): Promise<SystemInfo> {
  const counts = ctx.db.db.prepare("SELECT state FROM containers").all() as { state: string }[];
  let running = 0;
  let paused = 0;
  for (const r of counts) {
    const s = (JSON.parse(r.state) as { Status?: string }).Status;
    if (s === "running") running++;
    else if (s === "paused") paused++;
  }
  const images = (ctx.db.db.prepare("SELECT COUNT(*) AS n FROM images").get() as { n: number }).n;
  const cg = cgroupVersion();
  return {
    ID: idOf(ctx),
    Containers: counts.length,
    ContainersRunning: running,
    ContainersPaused: paused,
    ContainersStopped: counts.length - running - paused,
    Images: images,
    Driver: "overlayfs",
    DriverStatus: [["Backing Filesystem", "extfs"], ["Supports d_type", "true"], ["Using metacopy", "false"], ["Native Overlay Diff", "true"]],
    CgroupDriver: "cgroupfs",
    CgroupVersion: cg.version,
    KernelVersion: release(),
    OperatingSystem: osName(),
    OSType: "linux",
    Architecture: machine(),
    NCPU: cpus().length,
    MemTotal: totalmem(),
    Name: hostname(),
    ServerVersion: ENGINE_VERSION,
    DockerRootDir: ctx.config.root,
    Runtimes: runtimes,
    DefaultRuntime: defaultRuntime,
    RegistryConfig: { Mirrors: [...ctx.config.registryMirrors], InsecureRegistryCIDRs: ["127.0.0.0/8", "::1/128"] },
    Debug: false,
  };
}

/** A stable engine ID (a UUID made on first use, kept in `<root>/engine-id`). */
function idOf(ctx: EngineContext): string {
  const file = join(ctx.config.root, "engine-id");
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    const id = randomUUID();
    try {
      writeFileSync(file, `${id}\n`, { flag: "wx" });
      return id;
    } catch {
      return readFileSync(file, "utf8").trim();
    }
  }
}

/** Finds runc and crun with their versions; crun is marked unusable on hybrid cgroup hosts (it refuses them). */
export async function probeRuntimeBinaries(): Promise<SystemInfo["Runtimes"]> {
  const out: Record<string, { path: string; version?: string; status?: string }> = {};
  for (const name of ["runc", "crun"]) {
    const path = ["/usr/sbin", "/usr/bin", "/usr/local/bin", "/sbin", "/bin"].map((d) => `${d}/${name}`).find((p) => existsSync(p));
    if (path === undefined) continue;
    const version = await versionOf(path);
    const entry: { path: string; version?: string; status?: string } = { path };
    if (version !== undefined) entry.version = version;
    if (name === "crun" && cgroupVersion().hybrid) entry.status = "unusable: cgroups in hybrid mode not supported";
    out[name] = entry;
  }
  return out;
}
