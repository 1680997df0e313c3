import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, readlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kindOf } from "../core/errors.ts";
import { Database } from "../state/index.ts";
import { ANONYMOUS_LABEL, isAnonymous, VolumeStore } from "./volume-store.ts";

function fixture(): { store: VolumeStore; root: string; db: Database; done: () => void } {
  const root = mkdtempSync(join(tmpdir(), "berth-volumes-"));
  const db = Database.open({ path: join(root, "berth.db") });
  const store = new VolumeStore({ db, root, now: () => new Date("2026-01-02T03:04:05.678Z") });
  return { store, root, db, done: () => (db.close(), rmSync(root, { recursive: true, force: true })) };
}

test("create records the volume with its directory; create again returns the same volume", async () => {
  const f = fixture();
  try {
    const v = await f.store.create({ name: "data", labels: { a: "b" } });
    assert.deepEqual(v, {
      CreatedAt: "2026-01-02T03:04:05Z", Driver: "local", Labels: { a: "b" }, Mountpoint: join(f.root, "volumes", "data", "_data"),
      Name: "data", Options: null, Scope: "local",
    });
    assert.ok(statSync(v.Mountpoint).isDirectory());
    writeFileSync(join(v.Mountpoint, "f"), "kept");
    const again = await f.store.create({ name: "data" });
    assert.deepEqual(again, v);
    assert.equal(readFileSync(join(v.Mountpoint, "f"), "utf8"), "kept");
    assert.deepEqual(f.store.list().map((x) => x.Name), ["data"]);
  } finally {
    f.done();
  }
});

test("anonymous volumes get a random 64-hex name and docker's label", async () => {
  const f = fixture();
  try {
    const v = await f.store.create({ anonymous: true });
    assert.match(v.Name, /^[0-9a-f]{64}$/);
    assert.equal(v.Labels[ANONYMOUS_LABEL], "");
    assert.ok(isAnonymous(v));
    assert.ok(!isAnonymous(await f.store.create({ name: "named" })));
  } finally {
    f.done();
  }
});

test("bad names, drivers and options are refused with docker's kinds", async () => {
  const f = fixture();
  try {
    await assert.rejects(f.store.create({ name: "a/b" }), (e) => kindOf(e) === "invalid-parameter" && /includes invalid characters/.test((e as Error).message));
    await assert.rejects(f.store.create({ name: "xx", driver: "nfs" }), (e) => kindOf(e) === "not-found" && /plugin "nfs" not found/.test((e as Error).message));
    await assert.rejects(f.store.create({ name: "xx", options: { bogus: "1" } }), (e) => kindOf(e) === "invalid-parameter");
    assert.throws(() => f.store.get("missing"), (e) => kindOf(e) === "not-found" && (e as Error).message === "get missing: no such volume");
    assert.deepEqual(f.store.list(), []);
  } finally {
    f.done();
  }
});

test("remove deletes the row and the data", async () => {
  const f = fixture();
  try {
    const v = await f.store.create({ name: "gone" });
    writeFileSync(join(v.Mountpoint, "f"), "x");
    await f.store.remove("gone");
    assert.equal(f.store.find("gone"), undefined);
    assert.ok(!existsSync(join(f.root, "volumes", "gone")));
    await assert.rejects(f.store.remove("gone"), (e) => kindOf(e) === "not-found");
  } finally {
    f.done();
  }
});

test("prepareUse copies into an empty volume only, keeping modes and links", async () => {
  const f = fixture();
  try {
    const src = join(f.root, "image-etc");
    mkdirSync(join(src, "sub"), { recursive: true });
    writeFileSync(join(src, "secret"), "s");
    chmodSync(join(src, "secret"), 0o600);
    chmodSync(join(src, "sub"), 0o711);
    symlinkSync("secret", join(src, "link"));
    await f.store.create({ name: "etc" });
    const mp = await f.store.prepareUse("etc", { copyFrom: src });
    assert.equal(statSync(join(mp, "secret")).mode & 0o777, 0o600);
    assert.equal(statSync(join(mp, "sub")).mode & 0o777, 0o711);
    assert.equal(readlinkSync(join(mp, "link")), "secret");
    // Not empty any more: a second use copies nothing over the volume's own changes.
    rmSync(join(mp, "secret"));
    await f.store.prepareUse("etc", { copyFrom: src });
    assert.ok(!existsSync(join(mp, "secret")));
    // A missing source is no copy and no error.
    await f.store.create({ name: "empty" });
    assert.equal(await f.store.prepareUse("empty", { copyFrom: join(f.root, "nope") }), f.store.mountpoint("empty"));
  } finally {
    f.done();
  }
});
