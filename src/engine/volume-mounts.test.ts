import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kindOf } from "../core/index.ts";
import { Database } from "../state/index.ts";
import type { EngineContext } from "./context.ts";
import { initialState, insertContainer, type ContainerCreateConfig, type MountSpec } from "./container-record.ts";
import { resolveVolumeMounts, volumeStoreOf, volumeUsers } from "./volume-mounts.ts";
import { removeAnonymousVolumes, volumePrune, volumeRemove } from "./volume-remove.ts";
import { volumeList } from "./volume-list.ts";

function fixture(): { ctx: EngineContext; done: () => void } {
  const root = mkdtempSync(join(tmpdir(), "berth-volmounts-"));
  const db = Database.open({ path: join(root, "berth.db") });
  const ctx = { config: { root, runRoot: join(root, "run") }, db, now: () => new Date("2026-01-01T00:00:00Z") } as unknown as EngineContext;
  return { ctx, done: () => (db.close(), rmSync(root, { recursive: true, force: true })) };
}

function addContainer(ctx: EngineContext, id: string, mounts: MountSpec[], anonymousVolumes: string[] = []): void {
  const config = { HostConfig: { Mounts: mounts }, Berth: { anonymousVolumes } } as unknown as ContainerCreateConfig;
  insertContainer(ctx, { id, name: `c-${id}`, imageId: "sha256:x", created: "2026-01-01T00:00:00Z", config, state: initialState() });
}

const vol = (name: string, target: string, ro = false): MountSpec => ({ Type: "volume", Source: "", Name: name, Target: target, ReadOnly: ro });

test("explicit mounts first, then image VOLUMEs not already covered become anonymous volumes", async () => {
  const f = fixture();
  try {
    const r = await resolveVolumeMounts(f.ctx, {
      mounts: [vol("data", "/data/"), { Type: "bind", Source: "/srv", Target: "/srv", ReadOnly: true }, vol("", "/scratch")],
      imageVolumes: ["/data", "/cache", "/tmp/t"],
      volumesFrom: [],
      tmpfsTargets: ["/tmp/t"],
    });
    assert.deepEqual(r.mounts.map((m) => `${m.Type} ${m.Target}`), ["volume /data", "bind /srv", "volume /scratch", "volume /cache"]);
    assert.equal(r.mounts[0]!.Name, "data");
    assert.equal(r.mounts[0]!.Source, volumeStoreOf(f.ctx).mountpoint("data"));
    assert.equal(r.anonymous.length, 2);
    for (const n of r.anonymous) assert.match(n, /^[0-9a-f]{64}$/);
    assert.deepEqual(volumeList(f.ctx).map((v) => v.Name).sort(), ["data", ...r.anonymous].sort());
  } finally {
    f.done();
  }
});

test("a duplicate mount point is refused and the volumes made so far are removed", async () => {
  const f = fixture();
  try {
    await assert.rejects(
      resolveVolumeMounts(f.ctx, { mounts: [vol("", "/a"), vol("fresh", "/b"), vol("other", "/a")], imageVolumes: [], volumesFrom: [], tmpfsTargets: [] }),
      (e) => kindOf(e) === "invalid-parameter" && /Duplicate mount point: \/a/.test((e as Error).message),
    );
    assert.deepEqual(volumeList(f.ctx), []);
  } finally {
    f.done();
  }
});

test("--volumes-from copies the other container's volumes and binds, :ro overriding", async () => {
  const f = fixture();
  try {
    const shared = await volumeStoreOf(f.ctx).create({ name: "shared" });
    addContainer(f.ctx, "a".repeat(64), [{ ...vol("shared", "/shared"), Source: shared.Mountpoint }, { Type: "tmpfs", Source: "", Target: "/run", ReadOnly: false }]);
    const r = await resolveVolumeMounts(f.ctx, { mounts: [], imageVolumes: ["/shared"], volumesFrom: [`c-${"a".repeat(64)}:ro`], tmpfsTargets: [] });
    assert.deepEqual(r.mounts, [{ Type: "volume", Source: shared.Mountpoint, Name: "shared", Target: "/shared", ReadOnly: true }]);
    assert.deepEqual(r.anonymous, []);
    await assert.rejects(resolveVolumeMounts(f.ctx, { mounts: [], imageVolumes: [], volumesFrom: ["nope"], tmpfsTargets: [] }), (e) => kindOf(e) === "not-found");
    await assert.rejects(resolveVolumeMounts(f.ctx, { mounts: [], imageVolumes: [], volumesFrom: [`c-${"a".repeat(64)}:rx`], tmpfsTargets: [] }), (e) => kindOf(e) === "invalid-parameter");
  } finally {
    f.done();
  }
});

test("in use: rm refuses with docker's message, prune keeps it, anonymous removal spares shared volumes", async () => {
  const f = fixture();
  try {
    const store = volumeStoreOf(f.ctx);
    const anon = await store.create({ anonymous: true });
    await store.create({ name: "named" });
    await store.create({ anonymous: true });
    addContainer(f.ctx, "b".repeat(64), [vol(anon.Name, "/x"), vol("named", "/y")]);
    assert.deepEqual(volumeUsers(f.ctx, "named"), ["b".repeat(64)]);
    await assert.rejects(volumeRemove(f.ctx, "named"), (e) => kindOf(e) === "conflict" && (e as Error).message === `remove named: volume is in use - [${"b".repeat(64)}]`);
    await volumeRemove(f.ctx, "missing", { force: true });
    assert.deepEqual(volumeList(f.ctx, { filters: { dangling: ["true"] } }).length, 1);
    const pruned = await volumePrune(f.ctx, { all: true });
    assert.equal(pruned.VolumesDeleted.length, 1, "only the unused anonymous volume");
    await removeAnonymousVolumes(f.ctx, [anon.Name]);
    assert.ok(store.find(anon.Name) !== undefined, "still used by the container");
  } finally {
    f.done();
  }
});
