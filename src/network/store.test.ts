import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JsonNetworkStore } from "./store.ts";
import { splitRule } from "./iptables.ts";
import { kindOf } from "../core/errors.ts";
import type { NetworkConfig } from "./types.ts";

const cfg = (name: string): NetworkConfig => ({
  name, id: "a".repeat(64), driver: "bridge", subnet: "172.18.0.0/16", gateway: "172.18.0.1", bridge: "br-aaaaaaaaaaaa",
  internal: false, labels: {}, created: "2026-01-01T00:00:00.000Z",
});

test("JsonNetworkStore: create, conflict, list in name order, delete", async () => {
  const dir = await mkdtemp(join(tmpdir(), "berth-netstore-"));
  try {
    const s = new JsonNetworkStore(join(dir, "networks"));
    assert.deepEqual(await s.list(), []);
    await s.create(cfg("zeta"));
    await s.create(cfg("alpha"));
    await assert.rejects(s.create(cfg("alpha")), (e: unknown) => kindOf(e) === "conflict" && /network with name alpha already exists/.test(String(e)));
    assert.deepEqual((await s.list()).map((n) => n.name), ["alpha", "zeta"]);
    assert.deepEqual(await s.get("alpha"), cfg("alpha"));
    await s.delete("alpha");
    assert.equal(await s.get("alpha"), undefined);
    await assert.rejects(s.delete("alpha"), (e: unknown) => kindOf(e) === "not-found");
    assert.deepEqual(await readdir(join(dir, "networks")), ["zeta.json"], "no temp files left");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("splitRule reads iptables-save quoting", () => {
  assert.deepEqual(splitRule('-A POSTROUTING -s 10.0.0.2/32 -m comment --comment "name: \\"bridge\\" id: \\"c1\\"" -j CNI-abc'), [
    "-A", "POSTROUTING", "-s", "10.0.0.2/32", "-m", "comment", "--comment", 'name: "bridge" id: "c1"', "-j", "CNI-abc",
  ]);
  assert.deepEqual(splitRule('-A X --comment "" -j Y'), ["-A", "X", "--comment", "", "-j", "Y"]);
});
