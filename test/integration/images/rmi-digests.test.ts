/**
 * rmi and digest references (moby image_delete.go): removing the last tag of a
 * repository also removes that repository's digest references (recorded by a
 * push or a pull), so `rmi NAME` of an image's only remaining tag deletes it
 * even after it was pushed under another name and that name was removed.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { berthSandbox, type BerthSandbox } from "../../../src/testing/cli.ts";
import { makeBusyboxTar } from "../../../src/testing/busybox.ts";
import { startRegistry, type RegistryServer } from "../../../src/testing/registry-server.ts";
import { requires } from "../../../src/testing/requires.ts";

describe("rmi removes a repository's digest references with its last tag", { skip: requires("root", "busybox", "registry") }, () => {
  let b: BerthSandbox;
  let reg: RegistryServer;
  let work: string;

  before(async () => {
    b = berthSandbox();
    reg = await startRegistry();
    work = mkdtempSync(join(tmpdir(), "berth-rmi-"));
    makeBusyboxTar(work, join(work, "bb.tar"));
    const r = await b.run(["import", join(work, "bb.tar"), "bb:latest"]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    b?.cleanup();
    await reg?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test("push under a second name, rmi that name, then rmi the first deletes the image", async () => {
    const pushed = `${reg.host}/library/bb:latest`;
    assert.equal((await b.run(["tag", "bb:latest", pushed])).code, 0);
    const push = await b.run(["push", "-q", pushed]);
    assert.equal(push.code, 0, push.stderr);
    const digests = await b.run(["image", "inspect", "--format", "{{json .RepoDigests}}", "bb"]);
    assert.match(digests.stdout, new RegExp(`${reg.host}/library/bb@sha256:`), "the push recorded a digest reference");

    const untag = await b.run(["rmi", pushed]);
    assert.equal(untag.code, 0, untag.stderr);
    assert.equal(untag.stdout.trim(), `Untagged: ${pushed}`);
    const after = await b.run(["image", "inspect", "--format", "{{json .RepoTags}} {{json .RepoDigests}}", "bb"]);
    assert.equal(after.stdout.trim(), '["bb:latest"] []', "the repository's digest went with its last tag");

    const rm = await b.run(["rmi", "bb"]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.match(rm.stdout, /^Untagged: bb:latest\nDeleted: sha256:[0-9a-f]{64}\n$/);
    assert.equal((await b.run(["images", "-q"])).stdout, "");
  });
});
