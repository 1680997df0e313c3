import { test } from "node:test";
import assert from "node:assert/strict";
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { digestOf } from "../core/digest.ts";
import { kindOf, unavailable } from "../core/errors.ts";
import { TarBuilder, encodeHeader, DEFAULT_MTIME } from "../testing/tar-builder.ts";
import { applyLayer } from "./apply.ts";

const isRoot = process.getuid?.() === 0;

/** A temp dir holding `dest` (empty) and a `sentinel` dir beside it, which a breakout would touch. */
async function sandbox(): Promise<{ base: string; dest: string; sentinel: string; [Symbol.asyncDispose](): Promise<void> }> {
  const base = await mkdtemp(join(tmpdir(), "berth-apply-"));
  const dest = join(base, "dest");
  const sentinel = join(base, "sentinel");
  await mkdir(dest);
  await mkdir(sentinel);
  await writeFile(join(sentinel, "passwd"), "root:x:0:0\n");
  return { base, dest, sentinel, [Symbol.asyncDispose]: () => rm(base, { recursive: true, force: true }) };
}

async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const p = join(e.parentPath, e.name);
    const st = await lstat(p);
    out.push(`${p} ${st.mode} ${st.size} ${st.mtimeMs}`);
  }
  return out.sort();
}

test("applies files, dirs, symlinks and hardlinks with modes, owners and mtimes", async () => {
  await using sb = await sandbox();
  const tar = new TarBuilder()
    .dir("etc", { mode: 0o750, mtime: 1_600_000_000 })
    .file("etc/hosts", "127.0.0.1 localhost\n", { mode: 0o640, uid: 1000, gid: 1001, mtime: 1_500_000_000 })
    .file("usr/bin/tool", "#!/bin/sh\n", { mode: 0o4755 }) // parents implied
    .symlink("bin", "usr/bin", { mtime: 1_400_000_000 })
    .symlink("abs", "/etc/passwd") // a symlink may point anywhere; it is never followed
    .hardlink("etc/hosts.bak", "etc/hosts")
    .fifo("run.fifo", { mode: 0o600 })
    .build();
  const r = await applyLayer(Readable.from([tar]), sb.dest);
  assert.equal(r.diffId, digestOf(tar));
  assert.equal(r.tarSize, tar.length);
  assert.equal(r.size, "127.0.0.1 localhost\n".length + "#!/bin/sh\n".length);

  const d = (p: string) => join(sb.dest, p);
  assert.equal(await readFile(d("etc/hosts"), "utf8"), "127.0.0.1 localhost\n");
  const hosts = await lstat(d("etc/hosts"));
  assert.equal(hosts.mode & 0o7777, 0o640);
  assert.equal(Math.floor(hosts.mtimeMs / 1000), 1_500_000_000);
  if (isRoot) assert.deepEqual([hosts.uid, hosts.gid], [1000, 1001]);
  const etc = await lstat(d("etc"));
  assert.equal(etc.mode & 0o7777, 0o750);
  assert.equal(Math.floor(etc.mtimeMs / 1000), 1_600_000_000, "dir mtime is set after its children");
  assert.equal((await lstat(d("usr/bin/tool"))).mode & 0o7777, 0o4755);
  assert.equal((await lstat(d("usr"))).mode & 0o7777, 0o755, "implied parents are 0755");
  assert.equal(await readlink(d("bin")), "usr/bin");
  assert.equal(Math.floor((await lstat(d("bin"))).mtimeMs / 1000), 1_400_000_000);
  assert.equal(await readlink(d("abs")), "/etc/passwd");
  const bak = await lstat(d("etc/hosts.bak"));
  assert.equal(bak.ino, hosts.ino);
  assert.equal(bak.nlink, 2);
  assert.ok((await lstat(d("run.fifo"))).isFIFO());
});

test("later members replace earlier ones; ./ and a/../b names are normalised", async () => {
  await using sb = await sandbox();
  const tar = new TarBuilder()
    .dir("./")
    .file("./x", "old")
    .file("x", "new")
    .dir("d")
    .file("d/f", "child")
    .file("d", "now a file") // a file replaces a whole directory
    .symlink("s", "x")
    .file("s", "no longer a link") // replaces the symlink itself, not its target
    .file("a/../b", "b")
    .build();
  await applyLayer(Readable.from([tar]), sb.dest);
  const d = (p: string) => join(sb.dest, p);
  assert.equal(await readFile(d("x"), "utf8"), "new");
  assert.equal(await readFile(d("d"), "utf8"), "now a file");
  assert.equal(await readFile(d("s"), "utf8"), "no longer a link");
  assert.ok(!(await lstat(d("s"))).isSymbolicLink());
  assert.equal(await readFile(d("b"), "utf8"), "b");
  assert.deepEqual((await readdir(sb.dest)).sort(), ["b", "d", "s", "x"], "a/../b is lexical: no \"a\" is made");
});

test("the diffID covers every byte, including long PAX names", async () => {
  await using sb = await sandbox();
  const long = `${"d".repeat(80)}/${"f".repeat(80)}.txt`;
  const tar = new TarBuilder().file(long, "x").file("é-ünïcode", "u").build();
  const r = await applyLayer(Readable.from([tar.subarray(0, 700), tar.subarray(700)]), sb.dest);
  assert.equal(r.diffId, digestOf(tar));
  assert.equal(await readFile(join(sb.dest, long), "utf8"), "x");
  assert.equal(await readFile(join(sb.dest, "é-ünïcode"), "utf8"), "u");
});

test("an empty stream is an empty layer", async () => {
  await using sb = await sandbox();
  const r = await applyLayer(Readable.from([Buffer.alloc(1024)]), sb.dest);
  assert.equal(r.diffId, digestOf(Buffer.alloc(1024)));
  assert.deepEqual(await readdir(sb.dest), []);
});

// The breakout table (containerd pkg/archive/tar_test.go TestBreakouts): each must be rejected
// with the given kind and a message naming the problem, and nothing beside dest may change.
const breakouts: { name: string; tar: () => Buffer; kind: string; message: RegExp; mode?: "import" }[] = [
  { name: "absolute path", tar: () => new TarBuilder().file("/etc/passwd", "pwned").build(), kind: "invalid-parameter", message: /"\/etc\/passwd": absolute path/ },
  { name: "../x", tar: () => new TarBuilder().file("../sentinel/passwd", "pwned").build(), kind: "invalid-parameter", message: /escapes the layer root/ },
  { name: "a/../../x", tar: () => new TarBuilder().file("a/../../sentinel/x", "pwned").build(), kind: "invalid-parameter", message: /escapes the layer root/ },
  {
    name: "symlink to / then a file through it",
    tar: () => new TarBuilder().symlink("link", "/").file("link/etc/passwd", "pwned").build(),
    kind: "invalid-parameter",
    message: /"link\/etc\/passwd": path goes through symlink link/,
  },
  {
    name: "relative symlink ../../ then a write through it",
    tar: () => new TarBuilder().symlink("up", "../../").file("up/sentinel/passwd", "pwned").build(),
    kind: "invalid-parameter",
    message: /path goes through symlink up/,
  },
  {
    name: "symlink to the sibling dir then a dir and file through it",
    tar: () => new TarBuilder().symlink("s", "../sentinel").dir("s/sub").build(),
    kind: "invalid-parameter",
    message: /path goes through symlink s/,
  },
  { name: "hardlink to /etc/passwd", tar: () => new TarBuilder().hardlink("pw", "/etc/passwd").build(), kind: "invalid-parameter", message: /absolute path/ },
  { name: "hardlink to ../x", tar: () => new TarBuilder().hardlink("pw", "../sentinel/passwd").build(), kind: "invalid-parameter", message: /escapes the layer root/ },
  {
    name: "hardlink through a symlink",
    tar: () => new TarBuilder().symlink("l", "../sentinel").hardlink("pw", "l/passwd").build(),
    kind: "invalid-parameter",
    message: /hardlink target "l\/passwd" is not inside this layer/,
  },
  { name: "hardlink to a missing file", tar: () => new TarBuilder().hardlink("pw", "nope").build(), kind: "invalid-parameter", message: /does not exist/ },
  { name: "whiteout of ../x", tar: () => new TarBuilder().raw({ name: "../.wh.sentinel" }).build(), kind: "invalid-parameter", message: /escapes the layer root/ },
  { name: "whiteout of ..", tar: () => new TarBuilder().raw({ name: "a/.wh..." }).build(), kind: "invalid-parameter", message: /names no file/ },
  { name: "whiteout in import mode", tar: () => new TarBuilder().whiteout("x").build(), kind: "invalid-parameter", message: /whiteouts are not allowed/, mode: "import" },
  { name: "device node in import mode", tar: () => new TarBuilder().device("dev/mem", 1, 1).build(), kind: "invalid-parameter", message: /"dev\/mem": device nodes are not allowed/, mode: "import" },
  { name: "device node without allowDevices", tar: () => new TarBuilder().device("dev/sda", 8, 0, { block: true }).build(), kind: "invalid-parameter", message: /device nodes are not allowed/ },
  { name: "a file as a parent", tar: () => new TarBuilder().file("f", "x").file("f/g", "y").build(), kind: "invalid-parameter", message: /f is not a directory/ },
  { name: "truncated tar", tar: () => new TarBuilder().file("a", "x".repeat(2000)).buildTruncated(300), kind: "data-loss", message: /truncated/ },
  { name: "truncated header", tar: () => new TarBuilder().file("a", "x").build().subarray(0, 1000), kind: "data-loss", message: /truncated/ },
  { name: "garbage bytes", tar: () => Buffer.from("this is not a tar file at all".repeat(40)), kind: "invalid-parameter", message: /invalid layer tar/ },
  {
    name: "bad header checksum",
    tar: () =>
      Buffer.concat([
        encodeHeader({ name: "a", mode: 0o644, uid: 0, gid: 0, size: 0, mtime: DEFAULT_MTIME, typeflag: "0", linkname: "", devmajor: 0, devminor: 0, magic: "ustar\u000000" }, { badChecksum: true }),
        Buffer.alloc(1024),
      ]),
    kind: "invalid-parameter",
    message: /invalid layer tar/,
  },
];

for (const c of breakouts) {
  test(`rejects: ${c.name}`, async () => {
    await using sb = await sandbox();
    const before = await snapshot(sb.sentinel);
    const err = await applyLayer(Readable.from([c.tar()]), sb.dest, c.mode ? { mode: c.mode } : {}).then(
      () => assert.fail("applyLayer accepted a hostile tar"),
      (e: unknown) => e,
    );
    assert.equal(kindOf(err), c.kind, String(err));
    assert.match((err as Error).message, c.message);
    assert.deepEqual(await snapshot(sb.sentinel), before, "nothing outside dest changed");
    assert.deepEqual((await readdir(sb.base)).sort(), ["dest", "sentinel"]);
  });
}

test("abort cancels an apply in progress", async () => {
  await using sb = await sandbox();
  const ac = new AbortController();
  const tar = new TarBuilder().file("a", "x".repeat(10_000)).build();
  async function* slow() {
    yield tar.subarray(0, 600);
    ac.abort();
    yield tar.subarray(600);
  }
  const err = await applyLayer(Readable.from(slow()), sb.dest, { signal: ac.signal }).catch((e: unknown) => e);
  assert.equal(kindOf(err), "cancelled");
});

test("a file-system failure is a system error naming the member", async () => {
  await using sb = await sandbox();
  const long = "x".repeat(300); // longer than NAME_MAX: open() fails with ENAMETOOLONG
  const err = await applyLayer(Readable.from([new TarBuilder().file("ok", "1").file(long, "2").build()]), sb.dest).catch((e: unknown) => e);
  assert.equal(kindOf(err), "system", String(err));
  assert.match((err as Error).message, new RegExp(`applying tar member "${long}": .*ENAMETOOLONG`));
});

test("the input's own classified error keeps its kind", async () => {
  await using sb = await sandbox();
  const tar = new TarBuilder().file("a", "x".repeat(10_000)).build();
  async function* flaky() {
    yield tar.subarray(0, 600);
    throw unavailable("registry connection lost");
  }
  const err = await applyLayer(Readable.from(flaky()), sb.dest).catch((e: unknown) => e);
  assert.equal(kindOf(err), "unavailable", String(err));
});

test("a failing input stream fails the apply", async () => {
  await using sb = await sandbox();
  const tar = new TarBuilder().file("a", "x".repeat(10_000)).build();
  async function* broken() {
    yield tar.subarray(0, 600);
    throw new Error("connection reset");
  }
  await assert.rejects(applyLayer(Readable.from(broken()), sb.dest), /connection reset/);
});
