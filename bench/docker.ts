/**
 * A private dockerd for side-by-side benchmarks, started only on request
 * (`--with-docker`): installs Debian's docker.io if missing, runs dockerd with
 * its data root, exec root and socket under a temp dir, waits for it, and on
 * stop kills it, deletes docker0 and puts the iptables FORWARD policy back to
 * what it was (dockerd sets it to DROP, which cuts other engines' bridges off).
 * Keep it running only while measuring.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, openSync, rmSync } from "node:fs";
import { join } from "node:path";

export interface PrivateDocker {
  /** Environment for docker CLI children: DOCKER_HOST, and /usr/bin first (Debian's 20.10 CLI: BuildKit without buildx). */
  readonly env: Record<string, string>;
  /** The docker CLI to run. */
  readonly cli: string;
  stop(): Promise<void>;
}

function forwardPolicy(): string {
  const out = execFileSync("iptables", ["-w", "-S", "FORWARD"], { encoding: "utf8" });
  return /^-P FORWARD (\w+)/m.exec(out)?.[1] ?? "ACCEPT";
}

export async function startDocker(dir: string): Promise<PrivateDocker> {
  if (!existsSync("/usr/sbin/dockerd")) {
    console.error("installing Debian's docker.io (apt-get) ...");
    execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "docker.io"], {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    // The package starts its own service on the default socket; only the private one is used.
    spawnSync("systemctl", ["stop", "docker.service", "docker.socket"], { stdio: "ignore" });
  }
  const policy = forwardPolicy();
  mkdirSync(dir, { recursive: true });
  const sock = join(dir, "docker.sock");
  const log = openSync(join(dir, "dockerd.log"), "a");
  const child: ChildProcess = spawn(
    "/usr/sbin/dockerd",
    ["--data-root", join(dir, "data"), "--exec-root", join(dir, "exec"), "--pidfile", join(dir, "dockerd.pid"), "-H", `unix://${sock}`, "--storage-driver", "overlay2"],
    { stdio: ["ignore", log, log], detached: false },
  );
  const cli = existsSync("/usr/bin/docker") ? "/usr/bin/docker" : "docker";
  const env = { DOCKER_HOST: `unix://${sock}`, PATH: `/usr/bin:${process.env["PATH"] ?? ""}` };
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = spawnSync(cli, ["info", "--format", "{{.ServerVersion}}"], { env: { ...process.env, ...env }, encoding: "utf8" });
    if (r.status === 0) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`dockerd did not come up: see ${join(dir, "dockerd.log")}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  async function stop(): Promise<void> {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
    }
    spawnSync("ip", ["link", "del", "docker0"], { stdio: "ignore" });
    execFileSync("iptables", ["-w", "-P", "FORWARD", policy]);
    spawnSync("umount", ["-R", join(dir, "data")], { stdio: "ignore" });
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    console.error(`dockerd stopped; iptables FORWARD policy is ${forwardPolicy()} (was ${policy})`);
  }
  return { env, cli, stop };
}
