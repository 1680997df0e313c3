/**
 * RUN networking: the default network is a CNI bridge namespace that reaches
 * a server the test runs on the bridge's gateway address; --network=none
 * (flag and RUN --network) has no route to it. A private bridge and subnet
 * are used, and every rule and link the test made is removed afterwards.
 * (busybox-static's wget segfaults with -T inside a container, so no timeouts
 * are given; a namespace with only lo fails at once: "Network is unreachable".)
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { mkdtempSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CniNetworkBackend } from "../../../src/network/index.ts";
import { requires } from "../../../src/testing/requires.ts";
import { iptablesSnapshot, readIpForward, restoreHost } from "../network/host.ts";
import { buildSandbox, type BuildSandbox } from "./helpers.ts";

const skip = requires("root", "runc", "overlay", "busybox", "cni", "iptables");
const BRIDGE = "bbuild0";
const SUBNET = "10.124.7.0/24";

describe("berth build: RUN networking", { skip }, () => {
  let sb: BuildSandbox;
  let net: CniNetworkBackend;
  let snapshot: string[];
  let ipForward: string;
  let server: Server | undefined;
  before(async () => {
    snapshot = iptablesSnapshot();
    ipForward = readIpForward();
    sb = await buildSandbox();
    net = new CniNetworkBackend({ stateDir: join(sb.dir, "net-state"), runDir: join(sb.dir, "net-run"), defaultBridge: BRIDGE, defaultSubnet: SUBNET });
  });
  after(async () => {
    server?.close();
    await sb?.cleanup();
    restoreHost(snapshot, { links: [BRIDGE], ipForward });
  });

  test("default network reaches the gateway; --network=none and RUN --network=none do not", async () => {
    const gateway = (await net.inspect("bridge")).gateway;
    // The first RUN on the network brings the bridge (and its gateway address) up.
    const warm = sb.context({ Dockerfile: "FROM busybox\nRUN ip -4 addr show eth0 | grep -o 'inet [0-9.]*' > /addr\n" });
    const out1 = mkdtempSync(join(sb.dir, "o-"));
    await sb.build({ contextDir: warm, networkBackend: net, output: { type: "local", dest: out1 } });
    assert.match(readFileSync(join(out1, "addr"), "utf8"), /^inet 10\.124\.7\.\d+\n$/);

    server = createServer((_q, r) => r.end("hello from the host\n"));
    await new Promise<void>((r) => server!.listen(0, gateway, r));
    const port = (server.address() as { port: number }).port;
    const url = `http://${gateway}:${port}/`;
    const ctx = sb.context({
      Dockerfile: [
        "FROM busybox",
        `RUN wget -q -O /got ${url}`,
        `RUN --network=none (wget -q -O- ${url} || echo "failed: $?") > /none.txt 2>&1`,
        "",
      ].join("\n"),
    });
    const out2 = mkdtempSync(join(sb.dir, "o-"));
    await sb.build({ contextDir: ctx, networkBackend: net, output: { type: "local", dest: out2 } });
    assert.equal(readFileSync(join(out2, "got"), "utf8"), "hello from the host\n");
    assert.match(readFileSync(join(out2, "none.txt"), "utf8"), /unreachable|failed/i);
    assert.doesNotMatch(readFileSync(join(out2, "none.txt"), "utf8"), /hello/);

    const none = sb.context({ Dockerfile: `FROM busybox\nRUN (wget -q -O- ${url} || echo "failed: $?") > /none.txt 2>&1\n` });
    const out3 = mkdtempSync(join(sb.dir, "o-"));
    await sb.build({ contextDir: none, network: "none", networkBackend: net, output: { type: "local", dest: out3 } });
    assert.match(readFileSync(join(out3, "none.txt"), "utf8"), /failed/);
  });
});
