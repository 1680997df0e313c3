/** `system prune` and `builder prune` through the real CLI: what goes, what stays, docker's report. */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { berthSandbox, type BerthSandbox } from "../../../src/testing/cli.ts";
import { makeBusyboxTar } from "../../../src/testing/busybox.ts";
import { requires } from "../../../src/testing/requires.ts";
import { TarBuilder } from "../../../src/testing/tar-builder.ts";

describe("system prune", { skip: requires("root", "runc", "conmon", "overlay", "cni", "iptables", "busybox") }, () => {
  let b: BerthSandbox;
  let work: string;
  before(async () => {
    b = berthSandbox();
    work = mkdtempSync(join(tmpdir(), "berth-prune-"));
    makeBusyboxTar(work, join(work, "bb.tar"));
    assert.equal((await b.run(["import", join(work, "bb.tar"), "busybox"])).code, 0);
  });
  after(async () => {
    await b.run(["rm", "-f", "keeper"]);
    await b.run(["network", "rm", "unused-net"]);
    b.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  test("removes stopped containers, unused networks, dangling images and build cache; keeps what is in use", async () => {
    const stopped = await b.run(["run", "--network", "none", "--name", "stopped", "busybox", "true"]);
    assert.equal(stopped.code, 0, stopped.stderr);
    const keeper = await b.run(["run", "-d", "--network", "none", "--name", "keeper", "busybox", "sleep", "100"]);
    assert.equal(keeper.code, 0, keeper.stderr);
    assert.equal((await b.run(["import", "-", "dangling:1"], { input: new TarBuilder().file("x", "1").build() })).code, 0);
    assert.equal((await b.run(["import", "-", "dangling:1"], { input: new TarBuilder().file("x", "2").build() })).code, 0, "the first dangling:1 loses its tag");
    const net = await b.run(["network", "create", "unused-net"]);
    assert.equal(net.code, 0, net.stderr);
    const stoppedId = (await b.run(["inspect", "-f", "{{.Id}}", "stopped"])).stdout.trim();

    const r = await b.run(["system", "prune", "-f"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Deleted Containers:\\n${stoppedId}\\n\\n`));
    assert.match(r.stdout, /Deleted Networks:\nunused-net\n\n/);
    assert.match(r.stdout, /Deleted Images:\ndeleted: sha256:[0-9a-f]{64}\n\n/);
    assert.match(r.stdout, /Total reclaimed space: \S+\n$/);
    assert.equal((await b.run(["ps", "-a", "--format", "{{.Names}}"])).stdout, "keeper\n");
    assert.equal((await b.run(["images", "--filter", "dangling=true", "-q"])).stdout, "");
    assert.equal((await b.run(["image", "inspect", "-f", "{{.RepoTags}}", "busybox"])).stdout.trim(), "[busybox:latest]");

    const again = await b.run(["system", "prune", "-f"]);
    assert.equal(again.stdout, "Total reclaimed space: 0B\n");
    const builder = await b.run(["builder", "prune", "-f"]);
    assert.equal(builder.code, 0, builder.stderr);
    assert.match(builder.stdout, /^Total:\t\S+\n$/);
  });

  test("inspect finds volumes and networks too, in docker's order", async () => {
    assert.equal((await b.run(["volume", "create", "insp-vol"])).code, 0);
    assert.equal((await b.run(["inspect", "-f", "{{.Name}} {{.Driver}}", "insp-vol", "bridge"])).stdout, "insp-vol local\nbridge bridge\n");
    const typed = await b.run(["inspect", "--type", "volume", "busybox"]);
    assert.equal(typed.code, 1);
    assert.match(typed.stderr, /No such volume: busybox/);
    assert.equal((await b.run(["volume", "rm", "insp-vol"])).code, 0);
  });
});
