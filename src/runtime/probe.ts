/**
 * Which OCI runtimes work on this host. Each candidate found on PATH is
 * tried with a trivial container (a static binary bind-mounted into an empty
 * rootfs, run with `<runtime> run`), because "installed" is not "works": crun
 * 1.8 fails on hybrid-cgroup hosts. The answer is cached in
 * `<runRoot>/runtimes.json`, keyed by each binary's path, size and mtime.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { accessSync, constants } from "node:fs";

/** First executable named `name` on PATH (plus /usr/sbin and /sbin, where Debian puts runc). */
export function findExecutable(name: string): string | undefined {
  if (name.includes("/")) return name;
  for (const dir of [...(process.env["PATH"] ?? "").split(":"), "/usr/sbin", "/sbin"]) {
    if (dir === "") continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      /* next */
    }
  }
  return undefined;
}

export interface RuntimeProbe {
  name: string;
  path: string;
  works: boolean;
  reason?: string;
}

export interface ProbeOptions {
  /** Cache directory (berth's run root). */
  runRoot: string;
  /** Default ["runc", "crun"]. */
  candidates?: string[];
  /** A static binary to run; default busybox (runs `true`) or tini-static (`--version`). */
  probeBinary?: { path: string; args: string[] };
  /** Ignore the cache. */
  refresh?: boolean;
}

function run(file: string, args: string[], timeoutMs: number): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs }, (err, stdout, stderr) => resolve({ ok: err === null, out: `${stdout}${stderr}`.trim() }));
  });
}

async function defaultProbeBinary(): Promise<{ path: string; args: string[] } | undefined> {
  for (const [p, args] of [["/bin/busybox", ["true"]], ["/usr/bin/busybox", ["true"]], ["/usr/bin/tini-static", ["--version"]]] as const) {
    if (await stat(p).then(() => true, () => false)) return { path: p, args: [...args] };
  }
  return undefined;
}

async function tryRuntime(path: string, bin: { path: string; args: string[] } | undefined, runRoot: string): Promise<{ works: boolean; reason?: string }> {
  const v = await run(path, ["--version"], 5000);
  if (!v.ok) return { works: false, reason: `--version failed: ${v.out}` };
  if (bin === undefined) return { works: true, reason: "no static binary to try a container; --version only" };
  const dir = await mkdtemp(join(runRoot, "probe-"));
  const id = `berth-probe-${process.pid}-${Date.now()}`;
  const state = join(dir, "state");
  const inner = `/${bin.path.split("/").pop() ?? "probe"}`; // busybox picks its applet from argv[0]
  try {
    await mkdir(join(dir, "rootfs"));
    const spec = {
      ociVersion: "1.0.2-dev",
      process: { user: { uid: 0, gid: 0 }, args: [inner, ...bin.args], env: ["PATH=/"], cwd: "/", noNewPrivileges: true },
      root: { path: "rootfs", readonly: true },
      mounts: [
        { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
        { destination: inner, type: "bind", source: bin.path, options: ["rbind", "ro"] },
      ],
      linux: { namespaces: [{ type: "pid" }, { type: "mount" }, { type: "ipc" }, { type: "uts" }, { type: "network" }] },
    };
    await writeFile(join(dir, "config.json"), JSON.stringify(spec));
    const r = await run(path, ["--root", state, "run", "--bundle", dir, id], 15000);
    if (!r.ok) return { works: false, reason: r.out.split("\n").slice(-3).join(" ") || "run failed" };
    return { works: true };
  } finally {
    await run(path, ["--root", state, "delete", "--force", id], 5000);
    await rm(dir, { recursive: true, force: true });
  }
}

export async function probeRuntimes(o: ProbeOptions): Promise<RuntimeProbe[]> {
  await mkdir(o.runRoot, { recursive: true });
  const cacheFile = join(o.runRoot, "runtimes.json");
  const found: { name: string; path: string; key: string }[] = [];
  for (const name of o.candidates ?? ["runc", "crun"]) {
    const path = findExecutable(name);
    if (path === undefined) continue;
    const st = await stat(path);
    found.push({ name, path, key: `${path}:${st.size}:${st.mtimeMs}` });
  }
  let cache: Record<string, RuntimeProbe> = {};
  if (o.refresh !== true) {
    try {
      cache = JSON.parse(await readFile(cacheFile, "utf8")) as Record<string, RuntimeProbe>;
    } catch {
      cache = {};
    }
  }
  const bin = o.probeBinary ?? (await defaultProbeBinary());
  const out: RuntimeProbe[] = [];
  let changed = false;
  for (const f of found) {
    const hit = cache[f.key];
    if (hit !== undefined) {
      out.push(hit);
      continue;
    }
    const r = await tryRuntime(f.path, bin, o.runRoot);
    const p: RuntimeProbe = { name: f.name, path: f.path, works: r.works, ...(r.reason === undefined ? {} : { reason: r.reason }) };
    cache[f.key] = p;
    out.push(p);
    changed = true;
  }
  if (changed) await writeFile(cacheFile, JSON.stringify(cache, null, 2));
  return out;
}
