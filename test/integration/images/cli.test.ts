/**
 * Issue 2 end to end through the real `berth` command: import, images, tag,
 * rmi, inspect, history, save/load, prune, system df, and bad input that must
 * leave the store as it was.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { berthSandbox, type BerthSandbox } from "../../../src/testing/cli.ts";
import { makeBusyboxTar } from "../../../src/testing/busybox.ts";
import { requires } from "../../../src/testing/requires.ts";
import { TarBuilder } from "../../../src/testing/tar-builder.ts";

const skip = requires("root", "busybox");

function blobs(root: string): string[] {
  const dir = join(root, "blobs", "sha256");
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

describe("images CLI", { skip }, () => {
  let b: BerthSandbox;
  let work: string;
  let tar: string;
  let id: string;

  before(async () => {
    b = berthSandbox();
    work = mkdtempSync(join(tmpdir(), "berth-images-"));
    tar = join(work, "busybox.tar");
    makeBusyboxTar(work, tar);
    const r = await b.run(["import", tar, "busybox:latest"], { env: { SOURCE_DATE_EPOCH: "1700000000" } });
    assert.equal(r.code, 0, r.stderr);
    id = r.stdout.trim();
    assert.match(id, /^sha256:[a-f0-9]{64}$/);
  });
  after(() => {
    b?.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  test("images lists the imported image with docker's columns", async () => {
    const r = await b.run(["images"]);
    assert.equal(r.code, 0, r.stderr);
    const [header, row] = r.stdout.trimEnd().split("\n");
    assert.match(header!, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    assert.match(row!, new RegExp(`^busybox\\s+latest\\s+${id.slice(7, 19)}\\s+.+ago\\s+\\d`));
    const q = await b.run(["images", "-q", "--no-trunc"]);
    assert.equal(q.stdout.trim(), id);
  });

  test("import from stdin with --change and -m", async () => {
    const r = await b.run(["import", "-c", 'CMD ["/bin/sh","-c","echo hi"]', "-c", "ENV A=1", "-c", "WORKDIR /srv", "-m", "from stdin", "-", "bb2:1"], {
      input: readFileSync(tar),
    });
    assert.equal(r.code, 0, r.stderr);
    const i = await b.run(["image", "inspect", "--format", "{{json .Config.Cmd}} {{.Config.WorkingDir}} {{index .Config.Env 0}} {{.Comment}}", "bb2:1"]);
    assert.equal(i.stdout.trim(), '["/bin/sh","-c","echo hi"] /srv A=1 from stdin');
    const h = await b.run(["history", "bb2:1"]);
    assert.match(h.stdout, /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT\n/);
    assert.match(h.stdout, /from stdin/);
  });

  test("tag adds a name; rmi of one of several tags only untags", async () => {
    assert.equal((await b.run(["tag", "busybox", "example.com/team/bb:v1"])).code, 0);
    const list = await b.run(["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert.ok(list.stdout.includes("example.com/team/bb:v1"));
    const rm = await b.run(["rmi", "example.com/team/bb:v1"]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal(rm.stdout, "Untagged: example.com/team/bb:v1\n");
    assert.equal((await b.run(["image", "inspect", "-f", "{{.Id}}", "busybox"])).stdout.trim(), id);
  });

  test("rmi by ID with several tags needs -f; -f deletes the image", async () => {
    await b.run(["tag", "busybox", "bb-extra:1"]);
    const refused = await b.run(["rmi", id.slice(7, 19)]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /must be forced\) - image is referenced in multiple repositories/);
    const forced = await b.run(["rmi", "-f", id.slice(7, 19)]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /Untagged: busybox:latest/);
    assert.match(forced.stdout, new RegExp(`Deleted: ${id}`));
    const again = await b.run(["import", tar, "busybox:latest"], { env: { SOURCE_DATE_EPOCH: "1700000000" } });
    assert.equal(again.stdout.trim(), id, "with SOURCE_DATE_EPOCH, import is reproducible: same tar, same image ID");
  });

  test("inspect of a missing object prints [] and exits 1", async () => {
    const r = await b.run(["inspect", "nope:1"]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout.trim(), "[]");
    assert.match(r.stderr, /Error: No such object: nope:1/);
    const rmi = await b.run(["rmi", "nope"]);
    assert.equal(rmi.code, 1);
    assert.match(rmi.stderr, /No such image: nope:latest/);
  });

  test("image inspect has the Engine API's field names", async () => {
    const r = await b.run(["image", "inspect", "busybox"]);
    assert.equal(r.code, 0, r.stderr);
    const [img] = JSON.parse(r.stdout) as Record<string, unknown>[];
    for (const k of ["Id", "RepoTags", "RepoDigests", "Created", "Author", "Config", "Architecture", "Os", "Size", "RootFS", "Metadata"]) {
      assert.ok(k in img!, `missing ${k}`);
    }
    assert.deepEqual(img!["RepoTags"], ["busybox:latest"]);
    assert.equal((img!["RootFS"] as { Layers: string[] }).Layers.length, 1);
    assert.ok((img!["Size"] as number) > 1_000_000);
  });

  test("save then load into another store keeps the image ID and tags", async () => {
    const out = join(work, "saved.tar");
    const s = await b.run(["save", "-o", out, "busybox:latest"]);
    assert.equal(s.code, 0, s.stderr);
    const other = berthSandbox();
    try {
      const l = await other.run(["load", "-i", out]);
      assert.equal(l.code, 0, l.stderr);
      assert.equal(l.stdout, "Loaded image: busybox:latest\n");
      assert.equal((await other.run(["images", "-q", "--no-trunc"])).stdout.trim(), id);
      const viaStdin = await other.run(["load"], { input: readFileSync(out) });
      assert.equal(viaStdin.code, 0, viaStdin.stderr);
    } finally {
      other.cleanup();
    }
  });

  test("save to a pipe streams the same archive", async () => {
    const r = await b.run(["save", "busybox"]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdoutBytes.length > 1_000_000);
    const other = berthSandbox();
    try {
      const l = await other.run(["load"], { input: r.stdoutBytes });
      assert.equal(l.stdout, "Loaded image: busybox:latest\n", l.stderr);
    } finally {
      other.cleanup();
    }
  });

  test("image prune removes dangling images; system df counts what is left", async () => {
    const dangling = await b.run(["import", "-m", "dangling", tar]);
    assert.equal(dangling.code, 0, dangling.stderr);
    const before = await b.run(["images", "--filter", "dangling=true", "-q"]);
    assert.equal(before.stdout.trim().split("\n").length, 1);
    const p = await b.run(["image", "prune", "-f"]);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /deleted: sha256:/);
    assert.match(p.stdout, /Total reclaimed space: /);
    assert.equal((await b.run(["images", "--filter", "dangling=true", "-q"])).stdout, "");
    const df = await b.run(["system", "df"]);
    assert.match(df.stdout, /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE\nImages\s+2\s+0\s/);
  });
});

describe("bad input leaves the store as it was", { skip }, () => {
  let b: BerthSandbox;
  let work: string;
  before(() => {
    b = berthSandbox();
    work = mkdtempSync(join(tmpdir(), "berth-bad-"));
  });
  after(() => {
    b?.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  const hostile: { name: string; tar: () => Buffer; want: RegExp }[] = [
    { name: "a member with ..", tar: () => new TarBuilder().dir("a/").raw({ name: "a/../../escape" }, Buffer.from("x")).build(), want: /\.\./ },
    { name: "an absolute member", tar: () => new TarBuilder().raw({ name: "/etc/evil" }, Buffer.from("x")).build(), want: /absolute|\/etc\/evil/ },
    {
      name: "a symlink then a file through it",
      tar: () => new TarBuilder().symlink("link", "/tmp").file("link/owned", "x").build(),
      want: /symlink|link\/owned/,
    },
    { name: "a hardlink to outside", tar: () => new TarBuilder().hardlink("passwd", "../../../etc/passwd").build(), want: /passwd|outside|\.\./ },
    { name: "a device node", tar: () => new TarBuilder().device("dev/sda", 8, 0).build(), want: /device/ },
    { name: "a truncated tar", tar: () => new TarBuilder().file("a", "x".repeat(5000)).buildTruncated(3000), want: /truncated|unexpected end|corrupt/i },
  ];

  for (const h of hostile) {
    test(`import refuses ${h.name}`, async () => {
      const beforeBlobs = blobs(b.root);
      const r = await b.run(["import", "-", "hostile:1"], { input: h.tar() });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, h.want);
      assert.equal((await b.run(["images", "-q"])).stdout, "");
      assert.deepEqual(blobs(b.root), beforeBlobs);
      assert.ok(!existsSync("/tmp/owned"));
    });
  }

  test("load refuses a truncated archive and a corrupt one and tags nothing", async () => {
    const truncated = join(work, "t.tar");
    writeFileSync(truncated, new TarBuilder().file("manifest.json", "[").buildTruncated(200));
    const r = await b.run(["load", "-i", truncated]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error response from daemon: /);
    const garbage = await b.run(["load"], { input: Buffer.from("this is not a tar archive at all".repeat(40)) });
    assert.equal(garbage.code, 1);
    assert.equal((await b.run(["images", "-q"])).stdout, "");
  });

  test("a bad reference is refused with docker's wording", async () => {
    const r = await b.run(["tag", "x", "Bad/Name"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /invalid reference format/);
    const flags = await b.run(["images", "--bogus"]);
    assert.equal(flags.code, 125);
    assert.match(flags.stderr, /unknown flag: --bogus\nSee 'berth images --help'\./);
  });
});
