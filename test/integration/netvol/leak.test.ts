/**
 * Issue 6, "nothing leaks": 100 `run --rm -p` cycles through the real berth command, then
 * no veth on the root's bridge, no network namespace, no iptables rule naming its bridge,
 * subnet or the published port (other software, other tests included, may change iptables
 * meanwhile, so only rules that can be ours are compared), no IP lease, no port
 * reservation, no mount under the root. BERTH_LEAK_CYCLES overrides the count (default 100).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readlinkSync } from "node:fs";
import { requires } from "../../../src/testing/requires.ts";
import { added, iptablesSnapshot, vethNames } from "../network/host.ts";
import { freePort, netvolSandbox, type NetvolSandbox } from "./sandbox.ts";

const skip = requires("root", "runc", "conmon", "cni", "iptables", "busybox");
const CYCLES = Number(process.env["BERTH_LEAK_CYCLES"] ?? 100);

let b: NetvolSandbox;
before(async () => {
  if (skip !== undefined && skip !== false) return;
  b = await netvolSandbox();
});
after(async () => {
  await b?.teardown();
});

function onBridge(bridge: string): string[] {
  return vethNames().filter((v) => {
    try {
      return readlinkSync(`/sys/class/net/${v}/master`).endsWith(`/${bridge}`);
    } catch {
      return false;
    }
  });
}

test(`${CYCLES} run --rm -p cycles leave no veth, netns, iptables rule, lease, reservation or mount`, { skip, timeout: 240_000 }, async () => {
  const { name: bridge, subnet } = await b.bridge();
  const prefix = subnet.split(".").slice(0, 2).join(".") + ".";
  const port = await freePort();
  // One warm-up run so that chains berth keeps for the network's lifetime exist before the snapshot.
  const warm = await b.run(["run", "--rm", "-p", `${port}:80`, "busybox", "true"]);
  assert.equal(warm.code, 0, warm.stderr);
  await b.settled();
  const ipt = iptablesSnapshot();
  const t0 = Date.now();
  for (let i = 0; i < CYCLES; i++) {
    const r = await b.run(["run", "--rm", "-p", `${port}:80`, "busybox", "true"]);
    assert.equal(r.code, 0, `cycle ${i}: ${r.stderr}`);
  }
  const perCycle = (Date.now() - t0) / CYCLES;
  await b.settled(30_000);
  const ours = (l: string): boolean => l.includes(bridge) || l.includes(prefix) || l.includes(`--dport ${port} `) || l.includes(`:${port} `);
  assert.deepEqual(added(ipt, iptablesSnapshot()).filter(ours), [], "iptables rules left");
  assert.deepEqual(onBridge(bridge), [], "veths left on the bridge");
  assert.deepEqual(b.leftovers(), []);
  const ps = await b.run(["ps", "-aq"]);
  assert.equal(ps.stdout.trim(), "", "containers left");
  process.stdout.write(`# ${CYCLES} cycles, ${perCycle.toFixed(0)} ms per run --rm -p\n`);
});
