import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { digestOf, kindOf } from "../core/index.ts";
import { Database } from "../state/index.ts";
import { SqliteImageStore } from "./sqlite-image-store.ts";

function fixture() {
  const dir = mkdtempSync(join(tmpdir(), "berth-imgstore-"));
  const db = Database.open({ path: join(dir, "berth.db") });
  const store = new SqliteImageStore({ db });
  return { store, db, done: () => { db.close(); rmSync(dir, { recursive: true, force: true }); } };
}
const a = digestOf("config-a");
const b = digestOf("config-b");
const target = (s: string) => ({ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: digestOf(s), size: s.length });

test("image store: put, get, list, not-found", () => {
  const f = fixture();
  try {
    f.store.put({ id: a, target: target("m-a") });
    f.store.put({ id: a, target: target("m-a") });
    assert.equal(f.store.list().length, 1);
    assert.equal(f.store.get(a).target.digest, digestOf("m-a"));
    assert.throws(() => f.store.get(b), (e) => kindOf(e) === "not-found");
  } finally {
    f.done();
  }
});

test("image store: a tag points at one image; moving it reports the previous image", () => {
  const f = fixture();
  try {
    f.store.put({ id: a, target: target("m-a") });
    f.store.put({ id: b, target: target("m-b") });
    assert.equal(f.store.tag("docker.io/library/x:1", a), undefined);
    assert.equal(f.store.tag("docker.io/library/x:2", a), undefined);
    assert.deepEqual(f.store.tagsOf(a), ["docker.io/library/x:1", "docker.io/library/x:2"]);
    assert.equal(f.store.tag("docker.io/library/x:1", b), a);
    assert.deepEqual(f.store.tagsOf(a), ["docker.io/library/x:2"]);
    assert.equal(f.store.resolveTag("docker.io/library/x:1"), b);
    assert.ok(f.store.get(b).lastTagTime);
  } finally {
    f.done();
  }
});

test("image store: tagging a missing image fails and deleting an image drops its tags", () => {
  const f = fixture();
  try {
    assert.throws(() => f.store.tag("docker.io/library/x:1", a), (e) => kindOf(e) === "not-found");
    f.store.put({ id: a, target: target("m-a") });
    f.store.tag("docker.io/library/x:1", a);
    f.store.addRepoDigest("docker.io/library/x@" + digestOf("m-a"), a);
    f.store.delete(a);
    assert.equal(f.store.resolveTag("docker.io/library/x:1"), undefined);
    assert.deepEqual(f.store.allTags(), []);
    assert.equal(f.store.resolveRepoDigest("docker.io/library/x@" + digestOf("m-a")), undefined);
  } finally {
    f.done();
  }
});

test("database: two connections see each other's writes (several berth processes)", () => {
  const f = fixture();
  try {
    const other = Database.open({ path: f.db.db.location() ?? "" });
    const store2 = new SqliteImageStore({ db: other });
    f.store.put({ id: a, target: target("m-a") });
    assert.equal(store2.get(a).id, a);
    other.close();
  } finally {
    f.done();
  }
});
