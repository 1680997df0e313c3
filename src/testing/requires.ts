/**
 * Environment gates for tests that need the real host (containerd RequiresRoot,
 * moby skip.If). Outside CI a missing requirement skips the test and says why;
 * in CI (CI=true) it fails, because CI must never be silently green.
 *
 *   test("runs a container", { skip: requires("root", "runc") }, async () => { ... })
 */
import { accessSync, constants, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";

export type Requirement =
  | "root" | "linux" | "runc" | "conmon" | "overlay" | "cni" | "registry" | "skopeo" | "umoci" | "busybox" | "iptables" | "docker";

const binaries: Partial<Record<Requirement, string[]>> = {
  runc: ["runc"],
  conmon: ["conmon"],
  cni: ["/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/usr/lib/cni/portmap", "/usr/lib/cni/loopback"],
  registry: ["docker-registry"],
  skopeo: ["skopeo"],
  umoci: ["umoci"],
  busybox: ["busybox"],
  iptables: ["iptables"],
  docker: ["docker", "dockerd"],
};

export function findExecutable(name: string): string | undefined {
  const dirs = name.includes("/") ? [""] : (process.env["PATH"] ?? "").split(delimiter).concat(["/usr/sbin", "/sbin"]);
  for (const dir of dirs) {
    const p = dir === "" ? name : join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

function missing(req: Requirement): string | undefined {
  switch (req) {
    case "root":
      return process.getuid?.() === 0 ? undefined : "needs root";
    case "linux":
      return process.platform === "linux" ? undefined : "needs Linux";
    case "overlay": {
      if (process.platform !== "linux") return "needs Linux overlayfs";
      try {
        return readFileSync("/proc/filesystems", "utf8").includes("overlay") ? undefined : "kernel has no overlayfs";
      } catch {
        return "cannot read /proc/filesystems";
      }
    }
    default: {
      const bins = binaries[req] ?? [];
      const absent = bins.filter((b) => findExecutable(b) === undefined);
      return absent.length === 0 ? undefined : `needs ${absent.join(", ")}`;
    }
  }
}

/**
 * Returns false when every requirement holds, else a skip reason. In CI it
 * throws instead, so a gated test can never pass by not running.
 */
export function requires(...reqs: Requirement[]): false | string {
  const reasons = reqs.map(missing).filter((r): r is string => r !== undefined);
  if (reasons.length === 0) return false;
  const reason = reasons.join("; ");
  if (process.env["CI"] === "true") throw new Error(`CI must run this test, but: ${reason}`);
  return reason;
}
