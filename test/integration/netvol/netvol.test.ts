/**
 * Issue 6 through the real `berth` command in a private root: name resolution on a user
 * network (and hosts files rewritten live), published ports (-p, -P, `port`), outbound
 * traffic to a server on the host's bridge address, isolation between networks, connect /
 * disconnect, named volumes (persistence, in-use refusal, copy-up, nocopy), anonymous
 * volumes (VOLUME, -v /path, rm -v, --rm), --volumes-from, and a taken port.
 * Traffic goes only to 127.0.0.1, this root's bridge addresses and the test's containers.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { requires } from "../../../src/testing/requires.ts";
import { hostGet, iptablesSnapshot, added, startServer, stopServer, until, vethNames } from "../network/host.ts";
import { freePort, netvolSandbox, type NetvolSandbox } from "./sandbox.ts";

const skip = requires("root", "runc", "conmon", "cni", "iptables", "busybox");

/** A busybox httpd serving `body` as /index.html on port 80. */
function httpd(body: string): string[] {
  return ["sh", "-c", `mkdir -p /www && echo ${body} > /www/index.html && exec httpd -f -p 80 -h /www`];
}

/**
 * A bounded retry loop inside a container (20 tries). Debian's busybox-static 1.35 wget
 * crashes with -T, so `timeout` bounds each try.
 */
function fetchLoop(url: string): string[] {
  return ["sh", "-c", `for i in $(seq 1 20); do timeout 2 wget -qO- ${url} && exit 0; sleep 0.3; done; exit 1`];
}

describe("networks and volumes", { skip }, () => {
  let b: NetvolSandbox;

  before(async () => {
    b = await netvolSandbox();
  });
  after(async () => {
    await b?.teardown();
  });

  /** `run --rm` returns before conmon's cleanup has removed the container: wait (bounded) until only `keep` are left. */
  const noContainers = async (keep: string[] = []): Promise<void> => {
    await until("--rm containers to be removed", async () => {
      const names = (await b.run(["ps", "-a", "--format", "{{.Names}}"])).stdout.split("\n").filter(Boolean);
      return names.every((n) => keep.includes(n)) ? true : undefined;
    });
  };

  const ok = async (args: string[]): Promise<string> => {
    const r = await b.run(args);
    assert.equal(r.code, 0, `berth ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };

  test("network ls shows the pre-defined networks, which cannot be removed", async () => {
    const out = await ok(["network", "ls"]);
    const lines = out.trimEnd().split("\n");
    assert.match(lines[0]!, /^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE$/);
    for (const [name, driver] of [["bridge", "bridge"], ["host", "host"], ["none", "null"]]) {
      assert.ok(lines.some((l) => new RegExp(`^[0-9a-f]{12}\\s+${name}\\s+${driver}\\s+local$`).test(l)), `${name} in\n${out}`);
    }
    for (const name of ["bridge", "host", "none"]) {
      const r = await b.run(["network", "rm", name]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`${name} is a pre-defined network and cannot be removed`));
    }
    const br = await b.bridge();
    assert.match(br.name, /^berth-[0-9a-f]{6}$/, "a private root has its own default bridge");
  });

  test("containers on a user network reach each other by name and alias; hosts files follow joins and leaves", async () => {
    await ok(["network", "create", "--subnet", "10.213.7.0/24", "-l", "purpose=test", "appnet"]);
    const insp = JSON.parse(await ok(["network", "inspect", "appnet"])) as Record<string, unknown>[];
    assert.equal(insp[0]!["Name"], "appnet");
    assert.deepEqual(insp[0]!["IPAM"], { Driver: "default", Options: {}, Config: [{ Subnet: "10.213.7.0/24", Gateway: "10.213.7.1" }] });
    assert.deepEqual(insp[0]!["Labels"], { purpose: "test" });
    await ok(["run", "-d", "--name", "web", "--network", "appnet", "--network-alias", "www", "busybox", ...httpd("hello-web")]);
    const byName = await ok(["run", "--rm", "--network", "appnet", "busybox", ...fetchLoop("http://web/")]);
    assert.equal(byName.trim(), "hello-web");
    const byAlias = await ok(["run", "--rm", "--network", "appnet", "busybox", ...fetchLoop("http://www/")]);
    assert.equal(byAlias.trim(), "hello-web");

    // A later container appears in web's /etc/hosts (rewritten in place, seen through the bind mount) and leaves it.
    await ok(["run", "-d", "--name", "late", "--network", "appnet", "busybox", "sleep", "120"]);
    const hosts = await ok(["exec", "web", "cat", "/etc/hosts"]);
    assert.match(hosts, /^10\.213\.7\.\d+\s+late\b/m);
    const members = JSON.parse(await ok(["network", "inspect", "-f", "{{json .Containers}}", "appnet"])) as Record<string, { Name: string; IPv4Address: string }>;
    assert.deepEqual(Object.values(members).map((m) => m.Name).sort(), ["late", "web"]);
    await ok(["rm", "-f", "late"]);
    await until("late to leave web's hosts file", async () => ((await b.run(["exec", "web", "cat", "/etc/hosts"])).stdout.includes("late") ? undefined : true));

    // --ip, --add-host and --dns
    const fixed = await ok(["run", "--rm", "--network", "appnet", "--ip", "10.213.7.50", "--add-host", "extra.test:192.0.2.7", "--dns", "192.0.2.53", "busybox", "sh", "-c", "ip -o -4 addr show eth0; cat /etc/hosts /etc/resolv.conf"]);
    assert.match(fixed, /inet 10\.213\.7\.50\/24/);
    assert.match(fixed, /^192\.0\.2\.7\s+extra\.test$/m);
    assert.match(fixed, /^nameserver 192\.0\.2\.53$/m);

    const rm = await b.run(["network", "rm", "appnet"]);
    assert.equal(rm.code, 1);
    assert.match(rm.stderr, /error while removing network: network appnet id [0-9a-f]{64} has active endpoints/);
  });

  test("network connect joins a running container live as a new interface; disconnect removes it", async () => {
    await ok(["network", "create", "side"]);
    await ok(["run", "-d", "--name", "sider", "--network", "side", "busybox", "sleep", "120"]);
    await ok(["network", "connect", "--alias", "webby", "side", "web"]);
    const nets = JSON.parse(await ok(["inspect", "-f", "{{json .NetworkSettings.Networks}}", "web"])) as Record<string, { IPAddress: string }>;
    assert.deepEqual(Object.keys(nets).sort(), ["appnet", "side"]);
    const ip = await ok(["exec", "web", "ip", "-o", "-4", "addr", "show", "eth1"]);
    assert.ok(ip.includes(nets["side"]!.IPAddress), ip);
    const fromSide = await ok(["exec", "sider", ...fetchLoop("http://webby/")]);
    assert.equal(fromSide.trim(), "hello-web");
    const again = await b.run(["network", "connect", "side", "web"]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /endpoint with name web already exists in network side/);

    await ok(["network", "disconnect", "side", "web"]);
    const after = await b.run(["exec", "web", "ip", "link", "show", "eth1"]);
    assert.notEqual(after.code, 0, "eth1 is gone");
    assert.ok(!(await ok(["exec", "sider", "cat", "/etc/hosts"])).includes("webby"));
    const still = await ok(["run", "--rm", "--network", "appnet", "busybox", ...fetchLoop("http://web/")]);
    assert.equal(still.trim(), "hello-web", "the other network is untouched");
    await ok(["rm", "-f", "sider", "web"]);
  });

  test("published ports answer on 127.0.0.1 and the host's bridge address; -P maps exposed ports; port lists them", async () => {
    const port = await freePort();
    await ok(["run", "-d", "--name", "pub", "-p", `${port}:80`, "busybox", ...httpd("hello-pub")]);
    const body = await until("the published port", () => hostGet(`http://127.0.0.1:${port}/`));
    assert.equal(body.trim(), "hello-pub");
    const { gateway } = await b.bridge();
    assert.equal((await until("the port on the bridge address", () => hostGet(`http://${gateway}:${port}/`))).trim(), "hello-pub");
    assert.equal((await ok(["port", "pub"])).trim(), `80/tcp -> 0.0.0.0:${port}`);

    await ok(["run", "-d", "--name", "pall", "-P", "busybox", ...httpd("hello-all")]);
    const mapped = (await ok(["port", "pall", "80"])).trim();
    const m = /^0\.0\.0\.0:(\d+)$/.exec(mapped);
    assert.ok(m !== null, mapped);
    assert.equal((await until("the -P port", () => hostGet(`http://127.0.0.1:${m[1]}/`))).trim(), "hello-all");

    const lo = await freePort();
    await ok(["run", "-d", "--name", "ranged", "-p", `127.0.0.1:${lo}-${lo + 5}:80`, "busybox", ...httpd("hello-range")]);
    const r = /^127\.0\.0\.1:(\d+)$/.exec((await ok(["port", "ranged", "80/tcp"])).trim());
    assert.ok(r !== null && Number(r[1]) >= lo && Number(r[1]) <= lo + 5);
    assert.equal((await until("the ranged port", () => hostGet(`http://127.0.0.1:${r[1]}/`))).trim(), "hello-range");
    await ok(["rm", "-f", "pub", "pall", "ranged"]);
  });

  test("a container reaches a server on the host's bridge gateway address", async () => {
    const { gateway, subnet } = await b.bridge();
    const port = await freePort();
    const server = startServer({ host: gateway, port, tag: "host-side" });
    try {
      const out = await ok(["run", "--rm", "busybox", ...fetchLoop(`http://${gateway}:${port}/`)]);
      const [tag, from] = out.trim().split(" ");
      assert.equal(tag, "host-side");
      assert.ok(from!.startsWith(subnet.split(".").slice(0, 2).join(".") + "."), `seen from ${from}, subnet ${subnet}`);
    } finally {
      await stopServer(server);
    }
  });

  test("two user networks are isolated from each other", async () => {
    await ok(["network", "create", "neta"]);
    await ok(["network", "create", "netb"]);
    await ok(["run", "-d", "--name", "isob", "--network", "netb", "busybox", ...httpd("hello-b")]);
    const ip = (await ok(["inspect", "-f", "{{.NetworkSettings.Networks.netb.IPAddress}}", "isob"])).trim();
    const same = await ok(["run", "--rm", "--network", "netb", "busybox", ...fetchLoop(`http://${ip}/`)]);
    assert.equal(same.trim(), "hello-b", "control: the same network reaches it");
    const other = await b.run(["run", "--rm", "--network", "neta", "busybox", "sh", "-c", `timeout 3 wget -qO- http://${ip}/; exit $?`]);
    assert.notEqual(other.code, 0, `neta must not reach netb: ${other.stdout}`);
    await ok(["rm", "-f", "isob"]);

    await ok(["network", "create", "--internal", "intnet"]);
    assert.equal((await ok(["network", "inspect", "-f", "{{.Internal}}", "intnet"])).trim(), "true");
    const { gateway } = await b.bridge();
    const out = await b.run(["run", "--rm", "--network", "intnet", "busybox", "sh", "-c", `timeout 3 wget -qO- http://${gateway}:9/; ip route`]);
    assert.doesNotMatch(out.stdout, /default/, "an internal network has no default route");
    await noContainers();
    const pruned = await ok(["network", "prune", "-f"]);
    assert.match(pruned, /^Deleted Networks:$/m);
    for (const n of ["neta", "netb", "intnet"]) assert.match(pruned, new RegExp(`^${n}$`, "m"));
    assert.doesNotMatch(await ok(["network", "ls"]), /\bneta\b/);
  });

  test("data in a named volume outlives its container; a volume in use cannot be removed", async () => {
    await ok(["run", "--rm", "-v", "keep:/keep", "busybox", "sh", "-c", "echo persisted > /keep/f"]);
    assert.equal((await ok(["run", "--rm", "-v", "keep:/keep:ro", "busybox", "cat", "/keep/f"])).trim(), "persisted");
    const ls = await ok(["volume", "ls"]);
    assert.match(ls, /^DRIVER\s+VOLUME NAME$/m);
    assert.match(ls, /^local\s+keep$/m);
    const v = (JSON.parse(await ok(["volume", "inspect", "keep"])) as { Name: string; Driver: string; Mountpoint: string; Scope: string }[])[0]!;
    assert.equal(v.Mountpoint, join(b.root, "volumes", "keep", "_data"));
    assert.equal(v.Scope, "local");
    await noContainers();
    const id = (await ok(["create", "-v", "keep:/k", "busybox", "true"])).trim();
    const rm = await b.run(["volume", "rm", "keep"]);
    assert.equal(rm.code, 1);
    assert.equal(rm.stderr.trim(), `Error response from daemon: remove keep: volume is in use - [${id}]`);
    assert.equal((await ok(["volume", "ls", "-q", "--filter", "dangling=false"])).split("\n").includes("keep"), true);
    await ok(["rm", id]);
    await ok(["volume", "rm", "keep"]);
    assert.ok(!existsSync(v.Mountpoint));
    const again = await b.run(["volume", "inspect", "keep"]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /No such volume: keep/);
  });

  test("copy-up: an empty named volume gets the image's files with their modes; nocopy leaves it empty", async () => {
    await ok(["run", "--rm", "-v", "etcv:/etc", "busybox", "true"]);
    const data = join(b.root, "volumes", "etcv", "_data");
    const inImage = (await ok(["run", "--rm", "busybox", "stat", "-c", "%a %u %g", "/etc/passwd"])).trim();
    const st = statSync(join(data, "passwd"));
    assert.equal(`${(st.mode & 0o7777).toString(8)} ${st.uid} ${st.gid}`, inImage);
    // Not copied again over the volume's own content.
    await ok(["run", "--rm", "-v", "etcv:/etc", "busybox", "rm", "/etc/passwd"]);
    await noContainers();
    await ok(["run", "--rm", "-v", "etcv:/etc", "busybox", "true"]);
    assert.ok(!existsSync(join(data, "passwd")));
    await ok(["run", "--rm", "--mount", "type=volume,src=bare,dst=/etc,volume-nocopy", "busybox", "true"]);
    assert.deepEqual(readdirSync(join(b.root, "volumes", "bare", "_data")).filter((f) => !["hosts", "hostname", "resolv.conf"].includes(f)), []);
    await noContainers();
    await ok(["volume", "rm", "etcv", "bare"]);
  });

  test("anonymous volumes: VOLUME and -v /path; rm -v and --rm remove them; --volumes-from shares them", async () => {
    await noContainers();
    const before = new Set((await ok(["volume", "ls", "-q"])).split("\n").filter(Boolean));
    await ok(["create", "--name", "anon", "-v", "/scratch", "busybox", "true"]);
    const mounts = JSON.parse(await ok(["inspect", "-f", "{{json .Mounts}}", "anon"])) as { Type: string; Name: string; Destination: string }[];
    assert.deepEqual(mounts.map((m) => `${m.Type} ${m.Destination}`).sort(), ["volume /data", "volume /scratch"]);
    const names = mounts.map((m) => m.Name);
    for (const n of names) assert.match(n, /^[0-9a-f]{64}$/);
    const now = (await ok(["volume", "ls", "-q"])).split("\n").filter(Boolean);
    assert.deepEqual(now.filter((n) => !before.has(n)).sort(), [...names].sort());

    // --volumes-from: the same volumes, read-only with :ro
    await ok(["run", "--rm", "--volumes-from", "anon", "busybox", "sh", "-c", "echo shared > /scratch/f"]);
    const ro = await b.run(["run", "--rm", "--volumes-from", "anon:ro", "busybox", "sh", "-c", "cat /scratch/f && touch /scratch/g"]);
    assert.equal(ro.stdout.trim(), "shared");
    assert.notEqual(ro.code, 0, "read-only");

    await noContainers(["anon"]);
    await ok(["rm", "-v", "anon"]);
    const left = (await ok(["volume", "ls", "-q"])).split("\n").filter(Boolean);
    assert.deepEqual(left.filter((n) => !before.has(n)), [], "rm -v removed them");

    await ok(["run", "--rm", "-v", "/tmpvol", "busybox", "true"]);
    await until("--rm to remove its anonymous volumes", async () => {
      const l = (await ok(["volume", "ls", "-q"])).split("\n").filter(Boolean);
      return l.filter((n) => !before.has(n)).length === 0 ? true : undefined;
    });
    await ok(["volume", "create", "named-kept"]);
    const pruned = await ok(["volume", "prune", "-f"]);
    assert.ok(!pruned.includes("named-kept"), "prune without -a keeps named volumes");
    assert.match(await ok(["volume", "prune", "-af"]), /named-kept/);
  });

  test("build --network none|host|default gives RUN no network, the host's, or the bridge", async () => {
    const { name: bridge } = await b.bridge();
    const dir = mkdtempSync(join(tmpdir(), "berth-netvol-build-"));
    try {
      writeFileSync(join(dir, "Dockerfile"), "FROM busybox\nRUN cut -d: -f1 /proc/net/dev | tail -n +3 | tr -d ' ' | sort | tr '\\n' ' ' > /ifs\n");
      const ifs = async (mode: string): Promise<string> => {
        await ok(["build", "-q", "--no-cache", "--network", mode, "-t", `nettest:${mode}`, dir]);
        return (await ok(["run", "--rm", `nettest:${mode}`, "cat", "/ifs"])).trim();
      };
      assert.equal(await ifs("none"), "lo");
      assert.equal(await ifs("default"), "eth0 lo");
      assert.ok((await ifs("host")).split(" ").includes(bridge), "the host's interfaces, this root's bridge among them");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a taken host port fails the run with exit 125 and leaves nothing behind", async () => {
    await b.settled();
    const { name: bridge } = await b.bridge();
    const port = await freePort();
    const holder: Server = createServer();
    await new Promise<void>((r) => holder.listen(port, "0.0.0.0", () => r()));
    const ipt = iptablesSnapshot();
    const veths = vethNames();
    try {
      const r = await b.run(["run", "--rm", "-p", `${port}:80`, "busybox", "true"]);
      assert.equal(r.code, 125, r.stderr);
      assert.match(r.stderr, new RegExp(`Bind for 0\\.0\\.0\\.0:${port} failed: port is already allocated`));
    } finally {
      await new Promise<void>((r) => holder.close(() => r()));
    }
    // Between two berth containers too.
    const port2 = await freePort();
    await ok(["run", "-d", "--name", "holder", "-p", `${port2}:80`, "busybox", "sleep", "120"]);
    const second = await b.run(["run", "-d", "--name", "loser", "-p", `${port2}:80`, "busybox", "sleep", "120"]);
    assert.equal(second.code, 125);
    assert.match(second.stderr, new RegExp(`Bind for 0\\.0\\.0\\.0:${port2} failed: port is already allocated`));
    assert.match(await ok(["ps", "-a", "--filter", "name=loser", "--format", "{{.Status}}"]), /^Created/m, "docker keeps the created container");
    await ok(["rm", "-f", "holder", "loser"]);
    await b.settled();
    const ours = (l: string): boolean => l.includes(bridge) || l.includes(`--dport ${port} `) || l.includes(`--dport ${port2} `);
    assert.deepEqual(added(ipt, iptablesSnapshot()).filter(ours), [], "no iptables rule left");
    const extra = vethNames().filter((v) => !veths.includes(v));
    assert.deepEqual(extra.filter((v) => readMaster(v) === bridge), [], "no veth left on the bridge");
  });
});

function readMaster(veth: string): string | undefined {
  try {
    return readlinkSync(`/sys/class/net/${veth}/master`).split("/").pop();
  } catch {
    return undefined;
  }
}
