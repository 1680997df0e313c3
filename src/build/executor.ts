/**
 * Runs one RUN step in the foreground with runc, on a rootfs the caller has
 * already mounted (the merged overlay of the step). No conmon: the step's
 * stdout and stderr are pipes read line by line for progress.
 *
 *   bundle dir  <stepDir>/config.json        (prepareSpec: Docker's defaults)
 *   runc        runc --root <runRoot>/runc-build run --bundle <stepDir> <id>
 *   network     "none": a fresh namespace with only lo; "host"; "default": a
 *               CNI namespace on the "bridge" network, torn down afterwards
 *   /etc/resolv.conf, /etc/hosts, /etc/hostname are bind-mounted from files
 *   in the step dir, so they never end up in the layer; mount points runc had
 *   to create in the rootfs are removed again after the run.
 *
 * Cleanup on every path (cancellation included): runc kill + delete, netns
 * teardown and removal. The caller unmounts the rootfs.
 */
import { spawn } from "node:child_process";
import { lstat, mkdir, readdir, rm, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { cancelled, systemError } from "../core/errors.ts";
import type { CniNetworkBackend } from "../network/index.ts";
import { secureJoin } from "../runtime/secure-path.ts";
import { prepareSpec, probeHost, serializeSpec, type HostFacts } from "../runtime/spec.ts";

export interface StepMount {
  readonly destination: string;
  readonly type: string;
  readonly source: string;
  readonly options: string[];
}

export interface RunStepOptions {
  readonly id: string;
  readonly stepDir: string;
  readonly rootfs: string;
  readonly args: readonly string[];
  readonly env: readonly string[];
  readonly user: string;
  readonly workdir: string;
  readonly network: "default" | "none" | "host";
  readonly mounts: readonly StepMount[];
  readonly runcRoot: string;
  readonly runc?: string;
  readonly networkBackend?: () => CniNetworkBackend;
  readonly onOutput?: (line: string, stream: 1 | 2) => void;
  readonly signal?: AbortSignal | undefined;
}

let hostFacts: Promise<HostFacts> | undefined;

const HOSTS = "127.0.0.1\tlocalhost buildkitsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n";

/** Returns the exit code of the step's process. @throws system when runc cannot start it; cancelled on abort */
export async function runStep(o: RunStepOptions): Promise<number> {
  hostFacts ??= probeHost();
  const host = await hostFacts;
  let netns = "none";
  let cni: CniNetworkBackend | undefined;
  let attached = false;
  const created: string[] = [];
  try {
    if (o.network === "host") netns = "host";
    else if (o.network === "default") {
      if (o.networkBackend === undefined) throw systemError("RUN needs a network backend for the default network");
      cni = o.networkBackend();
      netns = await cni.createNetns(o.id);
      await cni.setup({ containerId: o.id, netns, networks: [{ name: "bridge" }], ports: [], ...(o.signal ? { signal: o.signal } : {}) });
      attached = true;
    }
    // Files bind-mounted over /etc: never part of the layer.
    const etc = join(o.stepDir, "etc");
    await mkdir(etc, { recursive: true });
    const resolv = o.network === "host" || cni === undefined ? await readHostResolv() : await cni.resolvConf({});
    await writeFile(join(etc, "resolv.conf"), resolv);
    await writeFile(join(etc, "hosts"), HOSTS);
    await writeFile(join(etc, "hostname"), "buildkitsandbox\n");
    const mounts: StepMount[] = [
      { destination: "/etc/resolv.conf", type: "bind", source: join(etc, "resolv.conf"), options: ["rbind", "ro"] },
      { destination: "/etc/hosts", type: "bind", source: join(etc, "hosts"), options: ["rbind", "ro"] },
      { destination: "/etc/hostname", type: "bind", source: join(etc, "hostname"), options: ["rbind", "ro"] },
      ...o.mounts,
    ];
    // Remember which mount points do not exist yet: runc creates them in the rootfs.
    for (const d of ["/proc", "/dev", "/sys", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys/fs/cgroup", ...mounts.map((m) => m.destination)]) {
      const p = await secureJoin(o.rootfs, d);
      if ((await lstat(p).catch(() => undefined)) === undefined) created.push(p);
    }
    const { spec } = await prepareSpec(
      {
        id: o.id,
        rootfs: o.rootfs,
        image: { Env: [], WorkingDir: o.workdir, User: o.user },
        entrypoint: [],
        cmd: [...o.args],
        env: [...o.env],
        hostname: "buildkitsandbox",
        netns,
        mounts,
        cgroupParent: "/berth-build",
      },
      host,
    );
    await writeFile(join(o.stepDir, "config.json"), serializeSpec(spec));
    await mkdir(o.runcRoot, { recursive: true });
    return await spawnRunc(o);
  } finally {
    await runc(o, ["delete", "--force", o.id]).catch(() => undefined);
    if (cni !== undefined) {
      if (attached) await cni.teardown({ containerId: o.id, netns, networks: ["bridge"], ports: [] }).catch(() => undefined);
      await cni.removeNetns(o.id).catch(() => undefined);
    }
    // Deepest first: mount points runc made (files or empty dirs only).
    for (const p of created.sort((a, b) => b.length - a.length)) {
      const st = await lstat(p).catch(() => undefined);
      if (st === undefined) continue;
      if (st.isDirectory()) {
        if ((await readdir(p).catch(() => ["x"])).length === 0) await rmdir(p).catch(() => undefined);
      } else if (st.isFile() && st.size === 0) await rm(p, { force: true });
    }
  }
}

async function readHostResolv(): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  return readFile("/etc/resolv.conf", "utf8").catch(() => "nameserver 8.8.8.8\n");
}

function runc(o: RunStepOptions, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(o.runc ?? "runc", ["--root", o.runcRoot, ...args], { stdio: "ignore" });
    child.on("error", reject);
    child.on("close", (code) => resolve(code ?? 1));
  });
}

function spawnRunc(o: RunStepOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    if (o.signal?.aborted) {
      reject(cancelled("build cancelled"));
      return;
    }
    const child = spawn(o.runc ?? "runc", ["--root", o.runcRoot, "run", "--bundle", o.stepDir, o.id], {
      stdio: ["ignore", "pipe", "pipe"],
      cwd: o.stepDir,
    });
    const lines = (stream: 1 | 2) => {
      let buf = "";
      return {
        data: (d: Buffer) => {
          buf += d.toString("utf8");
          let nl: number;
          while ((nl = buf.indexOf("\n")) >= 0) {
            o.onOutput?.(buf.slice(0, nl).replace(/\r$/, ""), stream);
            buf = buf.slice(nl + 1);
          }
        },
        end: () => {
          if (buf !== "") o.onOutput?.(buf, stream);
          buf = "";
        },
      };
    };
    const out = lines(1);
    const err = lines(2);
    child.stdout.on("data", out.data);
    child.stderr.on("data", err.data);
    let aborted = false;
    const onAbort = (): void => {
      aborted = true;
      void runc(o, ["kill", o.id, "KILL"]).catch(() => undefined);
      setTimeout(() => child.kill("SIGKILL"), 2000).unref();
    };
    o.signal?.addEventListener("abort", onAbort, { once: true });
    child.on("error", (e) => {
      o.signal?.removeEventListener("abort", onAbort);
      reject(systemError(`runc: ${e.message}`, { cause: e }));
    });
    child.on("close", (code, sig) => {
      o.signal?.removeEventListener("abort", onAbort);
      out.end();
      err.end();
      if (aborted) reject(cancelled("build cancelled"));
      else resolve(code ?? (sig !== null ? 128 + 9 : 1));
    });
  });
}

