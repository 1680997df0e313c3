/**
 * CniNetworkBackend against the real CNI plugins, iptables and network namespaces.
 * Traffic goes only to 127.0.0.1, the host's own address on a test bridge, or namespaces
 * this file creates.
 */
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { chmod, mkdtemp, readdir, readFile, rm, writeFile, mkdir } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { spawnSync } from "node:child_process";
import { requires } from "../../../src/testing/requires.ts";
import { kindOf } from "../../../src/core/errors.ts";
import { CniNetworkBackend } from "../../../src/network/index.ts";
import { contains, parseCidr, parseIPv4 } from "../../../src/network/ipv4.ts";
import {
  added, hostGet, iptablesSnapshot, linkExists, nsGet, readIpForward, restoreHost, startServer, stopServer, until, vethNames,
} from "./host.ts";

const skip = requires("root", "cni", "iptables");
const tag = randomBytes(3).toString("hex");
const DEFAULT_BRIDGE = `btest${tag}`;
let root = "";
let backend: CniNetworkBackend;
let iptBefore: string[] = [];
let ipForward = "0";
const links = new Set<string>([DEFAULT_BRIDGE]);
const netnsIds = new Set<string>();
const userNets: string[] = [];

function newBackend(pluginDirs?: string[]): CniNetworkBackend {
  return new CniNetworkBackend({
    stateDir: join(root, "state"), runDir: join(root, "run"), defaultBridge: DEFAULT_BRIDGE, defaultSubnet: "10.123.0.0/24",
    ...(pluginDirs ? { pluginDirs } : {}),
  });
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const a = s.address();
  await new Promise((r) => s.close(r));
  return typeof a === "object" && a !== null ? a.port : 0;
}

async function newNs(): Promise<{ id: string; ns: string }> {
  const id = `t${tag}${randomBytes(4).toString("hex")}`;
  netnsIds.add(id);
  return { id, ns: await backend.createNetns(id) };
}

async function leases(): Promise<string[]> {
  const dir = join(root, "state", "ipam");
  const out: string[] = [];
  for (const n of await readdir(dir).catch(() => [] as string[])) {
    for (const f of await readdir(join(dir, n))) if (/^\d+\.\d+\.\d+\.\d+$/.test(f)) out.push(`${n}/${f}`);
  }
  return out;
}

before(async () => {
  if (skip) return;
  root = await mkdtemp(join(tmpdir(), "berth-net-"));
  iptBefore = iptablesSnapshot();
  ipForward = readIpForward();
  backend = newBackend();
});

after(async () => {
  if (skip) return;
  for (const id of netnsIds) await backend.removeNetns(id).catch(() => {});
  for (const n of userNets) {
    const cfg = await backend.inspect(n).catch(() => undefined);
    if (cfg) links.add(cfg.bridge);
    await backend.remove(n).catch(() => {});
  }
  restoreHost(iptBefore, { links: [...links], ipForward });
  await rm(root, { recursive: true, force: true });
});

test("published port and container IP reach a server inside the namespace", { skip }, async () => {
  const { id, ns } = await newNs();
  const hostPort = await freePort();
  const st = await backend.setup({
    containerId: id, netns: ns, networks: [{ name: "bridge", aliases: ["web"] }],
    ports: [{ hostIp: "127.0.0.1", hostPort, containerPort: 3000, protocol: "tcp" }],
  });
  const b = st["bridge"];
  assert.ok(b, "status for the default network");
  // 10.123.0.0/24 unless a host route overlaps it (then the backend picks a pool subnet).
  const net = await backend.inspect("bridge");
  assert.equal(net.bridge, DEFAULT_BRIDGE);
  assert.ok(contains(parseCidr(net.subnet), parseIPv4(b.ip) ?? -1), `${b.ip} in ${net.subnet}`);
  assert.equal(b.prefixLen, parseCidr(net.subnet).prefixLen);
  assert.equal(b.gateway, net.gateway);
  assert.match(b.mac, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  assert.deepEqual(b.ports, [{ hostIp: "127.0.0.1", hostPort, containerPort: 3000, protocol: "tcp" }]);
  const srv = startServer({ netns: ns, host: "0.0.0.0", port: 3000, tag: "inside" });
  try {
    const direct = await until("server via container IP", () => hostGet(`http://${b.ip}:3000/`));
    assert.equal(direct, `inside ${net.gateway}`); // the host reaches it from its bridge address
    const published = await until("server via 127.0.0.1:hostPort", () => hostGet(`http://127.0.0.1:${hostPort}/`));
    assert.match(published, /^inside /);
  } finally {
    await stopServer(srv);
    await backend.teardown({ containerId: id, netns: ns, networks: ["bridge"], ports: b.ports ?? [] });
    await backend.removeNetns(id);
  }
  // After teardown the published port no longer answers.
  assert.equal(await hostGet(`http://127.0.0.1:${hostPort}/`, 500), undefined);
});

test("a taken host port is a clean conflict that leaves nothing behind", { skip }, async () => {
  // Warm up shared chains so the comparison sees only per-container state.
  const warm = await newNs();
  await backend.setup({ containerId: warm.id, netns: warm.ns, networks: [{ name: "bridge" }], ports: [] });
  await backend.teardown({ containerId: warm.id, netns: warm.ns, networks: ["bridge"], ports: [] });

  const holder: Server = createServer();
  await new Promise<void>((r) => holder.listen(0, "127.0.0.1", () => r()));
  const addr = holder.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : 0;
  const ipt0 = iptablesSnapshot();
  const veth0 = vethNames();
  try {
    const { id, ns } = await newNs();
    await assert.rejects(
      backend.setup({ containerId: id, netns: ns, networks: [{ name: "bridge" }], ports: [{ hostIp: "127.0.0.1", hostPort: port, containerPort: 80, protocol: "tcp" }] }),
      (e: unknown) => {
        assert.equal(kindOf(e), "conflict");
        assert.equal((e as Error).message, `Bind for 127.0.0.1:${port} failed: port is already allocated`);
        return true;
      },
    );
    assert.deepEqual(added(ipt0, iptablesSnapshot()), []);
    assert.deepEqual(vethNames(), veth0);
    assert.deepEqual(await leases(), []);
    assert.deepEqual(await readdir(join(root, "state", "ports")), []);

    // A port another berth container publishes is refused too (nothing listens on it: portmap is DNAT only).
    const p2 = await freePort();
    const a = await newNs();
    const st = await backend.setup({ containerId: a.id, netns: a.ns, networks: [{ name: "bridge" }], ports: [{ hostIp: "", hostPort: p2, containerPort: 80, protocol: "tcp" }] });
    await assert.rejects(
      backend.setup({ containerId: id, netns: ns, networks: [{ name: "bridge" }], ports: [{ hostIp: "", hostPort: p2, containerPort: 80, protocol: "tcp" }] }),
      (e: unknown) => kindOf(e) === "conflict" && (e as Error).message === `Bind for 0.0.0.0:${p2} failed: port is already allocated`,
    );
    assert.equal((await leases()).length, 1, "only the first container's lease");
    await backend.teardown({ containerId: a.id, netns: a.ns, networks: ["bridge"], ports: st["bridge"]?.ports ?? [] });
    assert.deepEqual(added(ipt0, iptablesSnapshot()), []);
  } finally {
    await new Promise((r) => holder.close(r));
  }
});

test("a plugin failing mid-chain is undone: no veth, rule, lease or reservation", { skip }, async () => {
  // A fake "portmap" plugin (the chain's second, after bridge, since ports are published)
  // that fails ADD, ahead of the real plugins in the search path.
  const fake = join(root, "fake-plugins");
  await mkdir(fake, { recursive: true });
  await writeFile(join(fake, "portmap"),
    `#!/bin/sh\ncat >/dev/null\nif [ "$CNI_COMMAND" = ADD ]; then echo '{"cniVersion":"1.0.0","code":999,"msg":"injected failure"}'; exit 1; fi\nexit 0\n`);
  await chmod(join(fake, "portmap"), 0o755);
  const failing = newBackend([fake, "/usr/lib/cni"]);
  const ipt0 = iptablesSnapshot();
  const veth0 = vethNames();
  const { id, ns } = await newNs();
  const port = await freePort();
  await assert.rejects(
    failing.setup({ containerId: id, netns: ns, networks: [{ name: "bridge" }], ports: [{ hostIp: "127.0.0.1", hostPort: port, containerPort: 80, protocol: "tcp" }] }),
    (e: unknown) => kindOf(e) === "system" && /injected failure/.test((e as Error).message),
  );
  assert.deepEqual(added(ipt0, iptablesSnapshot()), []);
  assert.deepEqual(vethNames(), veth0);
  assert.deepEqual(await leases(), []);
  assert.deepEqual(await readdir(join(root, "state", "ports")), []);
  const inNs = spawnSync("nsenter", [`--net=${ns}`, "ip", "-o", "link", "show", "eth0"]);
  assert.notEqual(inNs.status, 0, "eth0 removed from the namespace");
});

for (const policy of ["ACCEPT", "DROP"] as const) {
test(`outbound NAT (FORWARD policy ${policy}): the namespace reaches the host's bridge address and a routed peer through masquerade`, { skip }, async () => {
  // With FORWARD open, berth leaves out the CNI firewall plugin; with FORWARD closed
  // (as dockerd leaves it), the plugin's ACCEPT rules are what lets the traffic through.
  const before = spawnSync("iptables", ["-w", "-S", "FORWARD"], { encoding: "utf8" }).stdout.includes("-P FORWARD DROP") ? "DROP" : "ACCEPT";
  spawnSync("iptables", ["-w", "-P", "FORWARD", policy]);
  try {
  const { id, ns } = await newNs();
  const st = await backend.setup({ containerId: id, netns: ns, networks: [{ name: "bridge" }], ports: [] });
  const gw = st["bridge"]!.gateway;
  const hostPort = await freePort();
  const onHost = startServer({ host: gw, port: hostPort, tag: "host" });
  // An "outside" namespace routed through the host, so the traffic is forwarded and masqueraded.
  // Its server is started first; its PID names the namespace for `ip link ... netns`.
  const out = await newNs();
  const outVeth = `bto${tag}`;
  links.add(outVeth);
  const sh = (args: string[]): void => {
    const r = spawnSync(args[0]!, args.slice(1), { encoding: "utf8" });
    assert.equal(r.status, 0, `${args.join(" ")}: ${r.stderr}`);
  };
  const outside = startServer({ netns: out.ns, host: "0.0.0.0", port: 8080, tag: "outside" });
  try {
    sh(["ip", "link", "add", outVeth, "type", "veth", "peer", "name", "eth0", "netns", String(outside.pid)]);
    sh(["ip", "addr", "add", "198.51.100.1/30", "dev", outVeth]);
    sh(["ip", "link", "set", outVeth, "up"]);
    sh(["nsenter", `--net=${out.ns}`, "ip", "addr", "add", "198.51.100.2/30", "dev", "eth0"]);
    sh(["nsenter", `--net=${out.ns}`, "ip", "link", "set", "eth0", "up"]);

    const viaGw = await until("host server from the namespace", () => nsGet(ns, `http://${gw}:${hostPort}/`));
    assert.equal(viaGw, `host ${st["bridge"]!.ip}`);
    const viaNat = await until("outside server through NAT", () => nsGet(ns, "http://198.51.100.2:8080/"));
    assert.equal(viaNat, "outside 198.51.100.1", "source address rewritten to the host's (masquerade)");
  } finally {
    await stopServer(outside);
    await stopServer(onHost);
    spawnSync("ip", ["link", "del", outVeth]);
    await backend.removeNetns(out.id);
    await backend.teardown({ containerId: id, netns: ns, networks: ["bridge"], ports: [] });
  }
  } finally {
    spawnSync("iptables", ["-w", "-P", "FORWARD", before]);
  }
});
}

test("user networks: own subnet, names of peers, isolation from other networks", { skip }, async () => {
  const netA = `ta${tag}`;
  const netB = `tb${tag}`;
  userNets.push(netA, netB);
  const A = await backend.create({ name: netA, labels: { test: "1" } });
  const B = await backend.create({ name: netB });
  links.add(A.bridge).add(B.bridge);
  assert.match(A.bridge, /^br-[0-9a-f]{12}$/);
  assert.notEqual(A.subnet, B.subnet);
  await assert.rejects(backend.create({ name: netA }), (e: unknown) => kindOf(e) === "conflict");
  assert.equal((await backend.inspect(A.id.slice(0, 10))).name, netA);
  assert.ok((await backend.list()).some((n) => n.name === "bridge"));

  const a1 = await newNs();
  const a2 = await newNs();
  const b1 = await newNs();
  const s1 = await backend.setup({ containerId: a1.id, netns: a1.ns, networks: [{ name: netA, aliases: ["alpha"] }], ports: [] });
  const s2 = await backend.setup({ containerId: a2.id, netns: a2.ns, networks: [{ name: netA, aliases: ["beta"] }], ports: [] });
  const s3 = await backend.setup({ containerId: b1.id, netns: b1.ns, networks: [{ name: netB, aliases: ["gamma"] }], ports: [] });
  const servers = [
    startServer({ netns: a2.ns, host: "0.0.0.0", port: 3000, tag: "a2" }),
    startServer({ netns: b1.ns, host: "0.0.0.0", port: 3000, tag: "b1" }),
  ];
  try {
    const ipA2 = s2[netA]!.ip;
    const ipB1 = s3[netB]!.ip;
    // hosts file: a1 sees a2 by alias, not b1.
    const hosts = backend.hostsFile({ containerId: a1.id, hostname: "a1host" });
    assert.match(hosts, new RegExp(`^${s1[netA]!.ip.replaceAll(".", "\\.")}\\ta1host$`, "m"));
    assert.match(hosts, new RegExp(`^${ipA2.replaceAll(".", "\\.")}\\tbeta ${a2.id.slice(0, 12)}$`, "m"));
    assert.doesNotMatch(hosts, /gamma/);
    assert.deepEqual(backend.peersOf([netA], a1.id), [a2.id]);

    // Same network: reachable. Both servers up (checked from the host). Other network: dropped.
    assert.equal(await until("a2 from a1", () => nsGet(a1.ns, `http://${ipA2}:3000/`)), `a2 ${s1[netA]!.ip}`);
    await until("b1 from the host", () => hostGet(`http://${ipB1}:3000/`));
    assert.equal(await nsGet(a1.ns, `http://${ipB1}:3000/`, 1000), undefined, "network A must not reach network B");
    assert.equal(await nsGet(b1.ns, `http://${ipA2}:3000/`, 1000), undefined, "network B must not reach network A");

    await assert.rejects(backend.remove(netA), (e: unknown) => kindOf(e) === "conflict" && /has active endpoints/.test((e as Error).message));
  } finally {
    for (const s of servers) await stopServer(s);
    await backend.teardown({ containerId: a1.id, netns: a1.ns, networks: [netA], ports: [] });
    await backend.teardown({ containerId: a2.id, netns: a2.ns, networks: [netA], ports: [] });
    await backend.teardown({ containerId: b1.id, netns: b1.ns, networks: [netB], ports: [] });
  }
  assert.deepEqual(backend.peersOf([netA]), []);
  await backend.remove(netA);
  await backend.remove(netB);
  assert.equal(linkExists(A.bridge), false, "bridge deleted with the network");
  assert.ok(!iptablesSnapshot().some((l) => l.includes(A.bridge) || l.includes(B.bridge)), "isolation rules removed");
  await assert.rejects(backend.inspect(netA), (e: unknown) => kindOf(e) === "not-found");
});

test("20 setup/teardown cycles leave no veth, netns, iptables rule, lease or reservation", { skip }, async () => {
  const cycle = async (): Promise<void> => {
    const { id, ns } = await newNs();
    const st = await backend.setup({
      containerId: id, netns: ns, networks: [{ name: "bridge", aliases: ["c"] }],
      ports: [{ hostIp: "", hostPort: 0, containerPort: 80, protocol: "tcp" }, { hostIp: "127.0.0.1", hostPort: 0, containerPort: 53, protocol: "udp" }],
    });
    assert.ok((st["bridge"]?.ports ?? []).every((p) => p.hostPort > 0));
    await backend.teardown({ containerId: id, netns: ns, networks: ["bridge"], ports: st["bridge"]?.ports ?? [] });
    await backend.removeNetns(id);
    netnsIds.delete(id);
  };
  await cycle(); // warm-up: shared chains (CNI-FORWARD, CNI-HOSTPORT-*) and the bridge are made once
  const ipt0 = iptablesSnapshot();
  const veth0 = vethNames();
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) await cycle();
  const ms = (performance.now() - t0) / 20;
  console.log(`# setup+teardown cycle: ${ms.toFixed(0)} ms on average`);
  assert.deepEqual(added(ipt0, iptablesSnapshot()), []);
  assert.deepEqual(added(iptablesSnapshot(), ipt0), []);
  assert.deepEqual(vethNames(), veth0);
  assert.deepEqual(await leases(), []);
  assert.deepEqual(await readdir(join(root, "state", "ports")), []);
  assert.deepEqual(await readdir(join(root, "state", "results")), []);
  assert.deepEqual(await readdir(join(root, "state", "endpoints")), []);
  // Only namespaces of the other tests (removed in after()) may remain; none from the cycles.
  const left = (await readdir(join(root, "run", "netns"))).filter((f) => !netnsIds.has(f));
  assert.deepEqual(left, [], "no netns files left");
  const dir = join(root, "run", "netns") + "/";
  const mounts = (await readFile("/proc/self/mountinfo", "utf8")).split("\n")
    .map((l) => l.split(" ")[4] ?? "").filter((m) => m.startsWith(dir) && !netnsIds.has(m.slice(dir.length)));
  assert.deepEqual(mounts, [], "no netns mounts left");
});

test("an internal network has no default route and no masquerade", { skip }, async () => {
  const name = `ti${tag}`;
  userNets.push(name);
  const n = await backend.create({ name, internal: true, subnet: "10.124.0.0/24", gateway: "10.124.0.254" });
  links.add(n.bridge);
  assert.equal(n.internal, true);
  assert.equal(n.gateway, "10.124.0.254");
  await assert.rejects(backend.create({ name: `${name}x`, subnet: "10.124.0.128/25" }), (e: unknown) => kindOf(e) === "conflict");
  await assert.rejects(backend.create({ name: `${name}y`, subnet: "10.125.0.0/24", gateway: "10.9.9.9" }), (e: unknown) => kindOf(e) === "invalid-parameter");
  const { id, ns } = await newNs();
  const st = await backend.setup({ containerId: id, netns: ns, networks: [{ name, ip: "10.124.0.7" }], ports: [] });
  try {
    assert.equal(st[name]!.ip, "10.124.0.7", "the requested address");
    const routes = spawnSync("nsenter", [`--net=${ns}`, "ip", "-4", "route"], { encoding: "utf8" }).stdout;
    assert.doesNotMatch(routes, /^default/m);
    assert.ok(!iptablesSnapshot().some((l) => l.includes("10.124.0.7/32") && l.startsWith("nat ")), "no NAT rules for an internal network");
    // The same address again is a conflict.
    const other = await newNs();
    await assert.rejects(
      backend.setup({ containerId: other.id, netns: other.ns, networks: [{ name, ip: "10.124.0.7" }], ports: [] }),
      (e: unknown) => kindOf(e) === "conflict",
    );
  } finally {
    await backend.teardown({ containerId: id, netns: ns, networks: [name], ports: [] });
  }
  await backend.remove(name);
});
