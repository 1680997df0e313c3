/**
 * Private roots get their own default bridge (berth-<hash6>), two roots work side by side,
 * and a bridge whose root directory was deleted is reclaimed when the next root is made.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { berthSandbox } from "../../../src/testing/cli.ts";
import { requires } from "../../../src/testing/requires.ts";
import { CniNetworkBackend } from "../../../src/network/index.ts";
import { join } from "node:path";

const skip = requires("root", "cni", "iptables");

function bridgeOf(out: string): { name: string; subnet: string } {
  const v = (JSON.parse(out) as { Options: Record<string, string>; IPAM: { Config: { Subnet: string }[] } }[])[0]!;
  return { name: v.Options["com.docker.network.bridge.name"]!, subnet: v.IPAM.Config[0]!.Subnet };
}

const linkExists = (n: string): boolean => spawnSync("ip", ["link", "show", "dev", n]).status === 0;

test("two private roots have distinct bridges and subnets; a deleted root's bridge is reclaimed", { skip }, async () => {
  const a = berthSandbox("berth-bridges-a-");
  const b = berthSandbox("berth-bridges-b-");
  const c = berthSandbox("berth-bridges-c-");
  try {
    const [ra, rb] = await Promise.all([a.run(["network", "inspect", "bridge"]), b.run(["network", "inspect", "bridge"])]);
    assert.equal(ra.code, 0, ra.stderr);
    assert.equal(rb.code, 0, rb.stderr);
    const ba = bridgeOf(ra.stdout);
    const bb = bridgeOf(rb.stdout);
    assert.notEqual(ba.name, bb.name);
    assert.notEqual(ba.subnet, bb.subnet);
    assert.ok(linkExists(ba.name) && linkExists(bb.name), "bridges are made with the network");
    const alias = spawnSync("cat", [`/sys/class/net/${ba.name}/ifalias`], { encoding: "utf8" }).stdout.trim();
    assert.equal(alias, `berth:${join(a.root, "network")}`);

    a.cleanup(); // the root is gone, its bridge is not (yet)
    assert.ok(linkExists(ba.name));
    const rc = await c.run(["network", "ls", "-q"]);
    assert.equal(rc.code, 0, rc.stderr);
    assert.ok(!linkExists(ba.name), "the orphan bridge was reclaimed by the next new root");
    assert.ok(linkExists(bb.name), "a live root's bridge is kept");
    const rules = spawnSync("iptables-save", ["-t", "filter"], { encoding: "utf8" }).stdout;
    assert.ok(!rules.includes(`berth network ${ba.name}`), "its isolation rules too");
  } finally {
    for (const s of [b, c]) {
      await new CniNetworkBackend({ stateDir: join(s.root, "network"), runDir: join(s.runRoot, "network") }).removeHostState();
      s.cleanup();
    }
    a.cleanup();
  }
});
