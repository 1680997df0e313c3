/**
 * A berth sandbox with the busybox image imported, and the host cleanup a private root
 * needs: its containers, its networks' bridges and isolation rules (a private root has its
 * own default bridge, berth-<hash6>). Test-only.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { berthSandbox, type BerthSandbox } from "../../../src/testing/cli.ts";
import { makeBusyboxTar } from "../../../src/testing/busybox.ts";
import { until } from "../network/host.ts";
import { CniNetworkBackend } from "../../../src/network/index.ts";

export interface NetvolSandbox extends BerthSandbox {
  /** Removes containers, networks, bridges and rules of this root, then its files. */
  teardown(): Promise<void>;
  /** The default network's bridge and gateway. */
  bridge(): Promise<{ name: string; gateway: string; subnet: string }>;
  /** Waits (bounded) until no netns, lease, port reservation or mount of this root is left. */
  settled(ms?: number): Promise<void>;
  leftovers(): string[];
}

export async function netvolSandbox(): Promise<NetvolSandbox> {
  const b = berthSandbox("berth-netvol-");
  const work = mkdtempSync(join(tmpdir(), "berth-netvol-img-"));
  const tar = join(work, "busybox.tar");
  makeBusyboxTar(work, tar);
  const r = await b.run(["import", "-c", "VOLUME /data", "-c", "EXPOSE 80", tar, "busybox"]);
  rmSync(work, { recursive: true, force: true });
  assert.equal(r.code, 0, r.stderr);

  const leftovers = (): string[] => {
    const out: string[] = [];
    const netns = join(b.runRoot, "network", "netns");
    if (existsSync(netns)) out.push(...readdirSync(netns).map((f) => `netns ${f}`));
    const ipam = join(b.root, "network", "ipam");
    if (existsSync(ipam)) {
      for (const net of readdirSync(ipam)) for (const f of readdirSync(join(ipam, net))) if (/^\d+\.\d+\.\d+\.\d+$/.test(f)) out.push(`lease ${net}/${f}`);
    }
    const ports = join(b.root, "network", "ports");
    if (existsSync(ports)) out.push(...readdirSync(ports).map((f) => `port ${f}`));
    for (const l of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
      const mp = l.split(" ")[4];
      if (mp !== undefined && (mp.startsWith(b.root) || mp.startsWith(b.runRoot))) out.push(`mount ${mp}`);
    }
    return out;
  };

  const networks = (): { bridge: string; internal: boolean }[] => {
    const dir = join(b.root, "network", "networks");
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => f.endsWith(".json"))
      .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as { bridge: string; internal: boolean });
  };

  return {
    ...b,
    leftovers,
    async bridge() {
      const i = await b.run(["network", "inspect", "bridge"]);
      assert.equal(i.code, 0, i.stderr);
      const v = (JSON.parse(i.stdout) as { Options: Record<string, string>; IPAM: { Config: { Gateway: string; Subnet: string }[] } }[])[0]!;
      return { name: v.Options["com.docker.network.bridge.name"]!, gateway: v.IPAM.Config[0]!.Gateway, subnet: v.IPAM.Config[0]!.Subnet };
    },
    async settled(ms = 15_000) {
      await until("the root's network state to be released", async () => (leftovers().length === 0 ? true : undefined), ms).catch(() => {
        assert.deepEqual(leftovers(), [], "left behind");
      });
    },
    async teardown() {
      const ids = (await b.run(["ps", "-aq", "--no-trunc"])).stdout.split("\n").filter(Boolean);
      if (ids.length > 0) await b.run(["rm", "-fv", ...ids]);
      await b.run(["network", "prune", "-f"]);
      await until("containers' cleanup", async () => (leftovers().length === 0 ? true : undefined), 15_000).catch(() => undefined);
      await new CniNetworkBackend({ stateDir: join(b.root, "network"), runDir: join(b.runRoot, "network") }).removeHostState();
      for (const n of networks()) {
        assert.equal(spawnSync("ip", ["link", "show", n.bridge]).status, 1, `bridge ${n.bridge} removed`);
        deleteRulesMatching(`berth network ${n.bridge}`);
      }
      // A command cut off by a test timeout may still be finishing: retry, bounded.
      await until("the sandbox to be deletable", async () => {
        b.cleanup();
        return true;
      }, 20_000);
    },
  };
}

/** Deletes filter-table rules whose text contains `needle` (berth's isolation rules carry the bridge in a comment). */
export function deleteRulesMatching(needle: string): void {
  const save = spawnSync("iptables-save", ["-t", "filter"], { encoding: "utf8" }).stdout;
  for (const l of save.split("\n")) {
    if (!l.startsWith("-A ") || !l.includes(needle)) continue;
    const args = [...l.matchAll(/"((?:\\"|[^"])*)"|(\S+)/g)].map((m) => (m[1] !== undefined ? m[1] : m[2]!));
    spawnSync("iptables", ["-w", "-t", "filter", "-D", ...args.slice(1)]);
  }
}

/** A TCP port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}
