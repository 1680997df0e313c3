import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requires } from "../../../src/testing/requires.ts";
import { probeRuntimes } from "../../../src/runtime/probe.ts";

test("probeRuntimes: runc works here, crun fails on hybrid cgroups; answer is cached", { skip: requires("root", "runc", "busybox") }, async () => {
  const dir = await mkdtemp(join(tmpdir(), "berth-probe-"));
  try {
    const first = await probeRuntimes({ runRoot: dir });
    const runc = first.find((r) => r.name === "runc");
    assert.equal(runc?.works, true, runc?.reason);
    const hybrid = await stat("/sys/fs/cgroup/unified/cgroup.procs").then(() => true, () => false);
    const crun = first.find((r) => r.name === "crun");
    if (crun !== undefined && hybrid) {
      assert.equal(crun.works, false);
      assert.match(crun.reason ?? "", /hybrid/);
    }
    const t0 = performance.now();
    const again = await probeRuntimes({ runRoot: dir });
    assert.ok(performance.now() - t0 < 50, "second probe comes from the cache");
    assert.deepEqual(again, first);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
