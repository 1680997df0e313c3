/**
 * Issue 2, the rest through the real CLI: import from a URL, list filters,
 * history flags, several images in one archive, garbage collection of
 * blobs, several berth processes at once, version and info.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { berthSandbox, type BerthSandbox } from "../../../src/testing/cli.ts";
import { makeBusyboxTar } from "../../../src/testing/busybox.ts";
import { requires } from "../../../src/testing/requires.ts";
import { TarBuilder } from "../../../src/testing/tar-builder.ts";

const skip = requires("root", "busybox");

function blobCount(root: string): number {
  const dir = join(root, "blobs", "sha256");
  return existsSync(dir) ? readdirSync(dir).length : 0;
}

describe("images CLI, continued", { skip }, () => {
  let b: BerthSandbox;
  let work: string;
  let server: Server;
  let url: string;

  before(async () => {
    b = berthSandbox();
    work = mkdtempSync(join(tmpdir(), "berth-images2-"));
    makeBusyboxTar(work, join(work, "bb.tar"));
    const tar = readFileSync(join(work, "bb.tar"));
    server = createServer((req, res) => {
      if (req.url === "/busybox.tar") res.end(tar);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/busybox.tar`;
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    b?.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  test("import from a URL records the URL in the history", async () => {
    const r = await b.run(["import", url, "fromurl:1"]);
    assert.equal(r.code, 0, r.stderr);
    const h = await b.run(["history", "--no-trunc", "--format", "{{.Comment}}", "fromurl:1"]);
    assert.equal(h.stdout.trim(), `Imported from ${url}`);
    const q = await b.run(["history", "-q", "fromurl:1"]);
    assert.match(q.stdout, /^[0-9a-f]{12}\n$/);
    const missing = await b.run(["import", `${url}.nope`, "x:1"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /404/);
  });

  test("images filters: reference, label, dangling, before and since", async () => {
    const small = (n: number) => new TarBuilder().file(`f${n}`, `n${n}`).build();
    for (const [i, name] of ["alpha:1", "alpha:2", "beta:1"].entries()) {
      const r = await b.run(["import", "-c", `LABEL idx=${i}`, "-", name], { input: small(i), env: { SOURCE_DATE_EPOCH: String(1_700_000_000 + i * 10) } });
      assert.equal(r.code, 0, r.stderr);
    }
    const list = async (...args: string[]) => (await b.run(["images", "--format", "{{.Repository}}:{{.Tag}}", ...args])).stdout.trim().split("\n").filter((x) => x !== "").sort();
    assert.deepEqual(await list("alpha"), ["alpha:1", "alpha:2"]);
    assert.deepEqual(await list("--filter", "reference=alpha:1"), ["alpha:1"]);
    assert.deepEqual(await list("--filter", "reference=*a:*"), ["alpha:1", "alpha:2", "beta:1"]);
    assert.deepEqual(await list("--filter", "label=idx=2"), ["beta:1"]);
    assert.deepEqual(await list("--filter", "before=beta:1", "--filter", "since=alpha:1"), ["alpha:2"]);
    assert.deepEqual(await list("--filter", "dangling=true"), []);
    const bad = await b.run(["images", "--filter", "nope=1"]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /invalid filter 'nope'/);
    const digests = await b.run(["images", "--digests", "alpha"]);
    assert.match(digests.stdout, /^REPOSITORY\s+TAG\s+DIGEST\s+IMAGE ID\s+CREATED\s+SIZE\n/);
  });

  test("several images go into one archive and come back", async () => {
    const out = join(work, "multi.tar");
    const s = await b.run(["save", "-o", out, "alpha:1", "beta:1", "fromurl:1"]);
    assert.equal(s.code, 0, s.stderr);
    const other = berthSandbox();
    try {
      const l = await other.run(["load", "-i", out]);
      assert.equal(l.code, 0, l.stderr);
      assert.deepEqual(l.stdout.trim().split("\n").sort(), ["Loaded image: alpha:1", "Loaded image: beta:1", "Loaded image: fromurl:1"]);
      for (const name of ["alpha:1", "beta:1", "fromurl:1"]) {
        const a = (await b.run(["image", "inspect", "-f", "{{.Id}}", name])).stdout;
        const c = (await other.run(["image", "inspect", "-f", "{{.Id}}", name])).stdout;
        assert.equal(c, a, `${name} keeps its ID`);
      }
    } finally {
      other.cleanup();
    }
  });

  test("removing an image garbage-collects its blobs; shared blobs stay", async () => {
    const before = blobCount(b.root);
    assert.equal((await b.run(["tag", "alpha:1", "alpha-copy:1"])).code, 0);
    const untag = await b.run(["rmi", "alpha-copy:1"]);
    assert.equal(untag.stdout, "Untagged: alpha-copy:1\n");
    assert.equal(blobCount(b.root), before, "untagging frees nothing");
    const rm = await b.run(["rmi", "beta:1"]);
    assert.match(rm.stdout, /Deleted: sha256:/);
    assert.equal(blobCount(b.root), before - 3, "manifest, config and layer of beta:1 are gone");
    assert.equal((await b.run(["image", "inspect", "-f", "{{.Id}}", "alpha:1"])).code, 0);
  });

  test("several berth processes at once keep the store consistent", async () => {
    const imports = Array.from({ length: 6 }, (_, i) =>
      b.run(["import", "-", `para:${i}`], { input: new TarBuilder().file("x", `p${i}`).build() }),
    );
    const results = await Promise.all(imports);
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const tags = await Promise.all(Array.from({ length: 6 }, (_, i) => b.run(["tag", `para:${i}`, `para-alias:${i}`])));
    for (const r of tags) assert.equal(r.code, 0, r.stderr);
    const list = (await b.run(["images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference=para*"])).stdout.trim().split("\n");
    assert.equal(list.length, 12);
  });

  test("version and info report the runtime, the root and the storage driver", async () => {
    const v = await b.run(["version", "--format", "{{.Client.Version}}"]);
    assert.match(v.stdout, /^\d+\.\d+\.\d+\n$/);
    const i = await b.run(["info"]);
    assert.equal(i.code, 0, i.stderr);
    assert.match(i.stdout, /Storage Driver: overlayfs/);
    assert.match(i.stdout, new RegExp(`Docker Root Dir: ${b.root}`));
    assert.match(i.stdout, /Runtimes: .*runc/);
    assert.match(i.stdout, /Cgroup Version: [12]/);
    const f = await b.run(["info", "--format", "{{.Driver}} {{.Images}}"]);
    assert.match(f.stdout, /^overlayfs \d+\n$/);
  });
});
