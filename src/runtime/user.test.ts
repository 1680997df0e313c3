import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, writeFile, symlink, rm, readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kindOf } from "../core/errors.ts";
import { parseGroup, parsePasswd, resolveUser, resolveUserFrom } from "./user.ts";
import { ensureWorkdir, readRootfsFile, secureJoin } from "./secure-path.ts";

const passwd = parsePasswd("root:x:0:0:root:/root:/bin/sh\n# comment\nbin:x:1:1:bin:/bin:/sbin/nologin\napp:x:1000:1001::/home/app:/bin/sh\nnohome:x:1002:1002:::/bin/sh\nbroken-line\n");
const groups = parseGroup("root:x:0:root\nbin:x:1:root,bin\napp:x:1001:\nwheel:x:10:root,app\ndocker:x:999:app\n");

test("resolveUser table (runc GetExecUser rules)", () => {
  const cases: { spec: string; want: { uid: number; gid: number; additionalGids: number[]; home: string } | string }[] = [
    { spec: "", want: { uid: 0, gid: 0, additionalGids: [0, 1, 10], home: "/root" } },
    { spec: "root", want: { uid: 0, gid: 0, additionalGids: [0, 1, 10], home: "/root" } },
    { spec: "app", want: { uid: 1000, gid: 1001, additionalGids: [10, 999], home: "/home/app" } },
    { spec: "1000", want: { uid: 1000, gid: 1001, additionalGids: [10, 999], home: "/home/app" } },
    { spec: "4242", want: { uid: 4242, gid: 0, additionalGids: [], home: "/" } },
    { spec: "4242:77", want: { uid: 4242, gid: 77, additionalGids: [], home: "/" } },
    { spec: "app:docker", want: { uid: 1000, gid: 999, additionalGids: [], home: "/home/app" } },
    { spec: "app:5", want: { uid: 1000, gid: 5, additionalGids: [], home: "/home/app" } },
    { spec: "nohome", want: { uid: 1002, gid: 1002, additionalGids: [], home: "/" } },
    { spec: "ghost", want: "unable to find user ghost: no matching entries in passwd file" },
    { spec: "app:ghosts", want: "unable to find group ghosts: no matching entries in group file" },
  ];
  for (const c of cases) {
    if (typeof c.want === "string") {
      const msg = c.want;
      assert.throws(() => resolveUserFrom(c.spec, passwd, groups), (e: Error) => kindOf(e) === "invalid-parameter" && e.message === msg, c.spec);
    } else assert.deepEqual(resolveUserFrom(c.spec, passwd, groups), c.want, c.spec);
  }
});

test("files are read without following symlinks out of the rootfs", async () => {
  const dir = await mkdtemp(join(tmpdir(), "berth-user-"));
  try {
    const root = join(dir, "root");
    await mkdir(join(root, "etc"), { recursive: true });
    await mkdir(join(dir, "outside"));
    await writeFile(join(dir, "outside", "passwd"), "evil:x:0:0::/:/bin/sh\n");
    await writeFile(join(dir, "passwd"), "evil:x:0:0::/:/bin/sh\n");
    // Absolute and relative links that would escape on the host resolve inside the rootfs.
    await symlink("/../../../passwd", join(root, "etc", "passwd"));
    await symlink("../../../../outside", join(root, "etc", "grp"));
    await mkdir(join(root, "outside"));
    await writeFile(join(root, "passwd"), "safe:x:7:7::/s:/bin/sh\n");
    assert.equal(await secureJoin(root, "/etc/passwd"), join(root, "passwd"));
    assert.equal(await secureJoin(root, "/etc/grp/x"), join(root, "outside", "x"));
    assert.equal(await secureJoin(root, "/../../etc"), join(root, "etc"));
    assert.deepEqual(await resolveUser(root, "safe"), { uid: 7, gid: 7, additionalGids: [], home: "/s" });
    await assert.rejects(resolveUser(root, "evil"), (e: Error) => kindOf(e) === "invalid-parameter");
    assert.equal(await readRootfsFile(root, "/etc/group"), undefined);
    // A symlink loop is an error, not a hang.
    await symlink("/loop", join(root, "loop"));
    await assert.rejects(secureJoin(root, "/loop/x"), (e: Error) => kindOf(e) === "invalid-parameter");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("ensureWorkdir creates missing dirs inside the rootfs only", async () => {
  const dir = await mkdtemp(join(tmpdir(), "berth-wd-"));
  try {
    const root = join(dir, "root");
    await mkdir(root);
    await mkdir(join(dir, "escaped"));
    await symlink("/../escaped-not", join(root, "link"));
    const host = await ensureWorkdir(root, "/link/app", process.getuid?.() ?? 0, process.getgid?.() ?? 0);
    assert.equal(host, join(root, "escaped-not", "app"));
    assert.ok((await stat(join(root, "escaped-not", "app"))).isDirectory());
    await assert.rejects(stat(join(dir, "escaped-not")));
    await writeFile(join(root, "file"), "x");
    await assert.rejects(ensureWorkdir(root, "/file/sub", 0, 0), (e: Error) => kindOf(e) === "invalid-parameter");
    await assert.rejects(ensureWorkdir(root, "relative", 0, 0), (e: Error) => kindOf(e) === "invalid-parameter");
    assert.equal(await readFile(join(root, "file"), "utf8"), "x");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
