import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import {
  addUser, epochDays, hostDebianMirror, hostExtraCAs, NODE_ENTRYPOINT_SCRIPT, normalizeShadow, parseAptMirror, parseDpkgStatus,
  slimDebianRootfs, writeBusyboxRootfs, writeNodeLayer,
} from "./rootfs.ts";

function tmp(t: { after: (fn: () => void) => void }): string {
  const d = mkdtempSync(join(tmpdir(), "berth-bootstrap-"));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test("writeBusyboxRootfs lays out the binary, applet links, accounts and modes", (t) => {
  const d = tmp(t);
  const fake = join(d, "busybox-bin");
  writeFileSync(fake, "#!/bin/sh\necho fake\n");
  const root = join(d, "rootfs");
  mkdirSync(root);
  writeBusyboxRootfs(root, { busybox: fake, applets: ["sh", "ls", "busybox", "ls", "[["] });
  assert.equal(readFileSync(join(root, "bin/busybox"), "utf8"), "#!/bin/sh\necho fake\n");
  assert.equal(lstatSync(join(root, "bin/busybox")).mode & 0o777, 0o755);
  assert.deepEqual(readdirSync(join(root, "bin")).sort(), ["[[", "busybox", "ls", "sh"]);
  assert.equal(readlinkSync(join(root, "bin/sh")), "busybox");
  assert.equal(lstatSync(join(root, "tmp")).mode & 0o7777, 0o1777);
  assert.equal(lstatSync(join(root, "root")).mode & 0o7777, 0o700);
  assert.match(readFileSync(join(root, "etc/passwd"), "utf8"), /^root:x:0:0:root:\/root:\/bin\/sh\n/);
  assert.match(readFileSync(join(root, "etc/group"), "utf8"), /^root:x:0:\n/);
  assert.match(readFileSync(join(root, "etc/passwd"), "utf8"), /\nnobody:x:65534:65534:/);
});

test("writeBusyboxRootfs refuses applet names that would escape /bin", (t) => {
  const d = tmp(t);
  writeFileSync(join(d, "bb"), "x");
  mkdirSync(join(d, "r"));
  assert.throws(() => writeBusyboxRootfs(join(d, "r"), { busybox: join(d, "bb"), applets: ["../evil"] }), { kind: "invalid-parameter" });
});

test("addUser appends user, group and shadow lines and refuses duplicates", () => {
  const base = { passwd: "root:x:0:0:root:/root:/bin/bash\n", group: "root:x:0:\nshadow:x:42:", shadow: "root:*:19000:0:99999:7:::\n", gshadow: "root:*::\n" };
  const u = { name: "node", uid: 1000, gid: 1000, home: "/home/node", shell: "/bin/bash" };
  const r = addUser(base, u, 20089);
  assert.equal(r.passwd, "root:x:0:0:root:/root:/bin/bash\nnode:x:1000:1000::/home/node:/bin/bash\n");
  assert.equal(r.group, "root:x:0:\nshadow:x:42:\nnode:x:1000:\n");
  assert.equal(r.shadow, "root:*:19000:0:99999:7:::\nnode:!:20089:0:99999:7:::\n");
  assert.equal(r.gshadow, "root:*::\nnode:!::\n");
  assert.throws(() => addUser(r, u, 1), { kind: "invalid-parameter" });
  assert.throws(() => addUser(base, { ...u, name: "other", uid: 0 }, 1), /uid 0/);
  const noShadow = addUser({ passwd: "", group: "" }, u, 1);
  assert.equal(noShadow.shadow, undefined);
});

test("normalizeShadow replaces the last-change day and keeps empty fields", () => {
  assert.equal(normalizeShadow("root:*:20784:0:99999:7:::\nx:!::0:99999:7:::\n", 20089), "root:*:20089:0:99999:7:::\nx:!::0:99999:7:::\n");
  assert.equal(epochDays(1735689600), 20089);
});

test("parseAptMirror reads deb822 and one-line sources, skipping security and disabled stanzas", () => {
  const deb822 = [
    "Types: deb",
    "URIs: http://deb.debian.org/debian-security",
    "Suites: bookworm-security",
    "Components: main",
    "",
    "Types: deb-src",
    "URIs: http://src.example/debian",
    "Suites: bookworm",
    "",
    "Enabled: no",
    "Types: deb",
    "URIs: http://off.example/debian",
    "Suites: bookworm",
    "",
    "Types: deb",
    "# http://snapshot.debian.org/archive/debian/20250520T000000Z",
    "URIs: http://deb.debian.org/debian",
    "Suites: bookworm bookworm-updates",
  ].join("\n");
  assert.equal(parseAptMirror(deb822), "http://deb.debian.org/debian");
  assert.equal(parseAptMirror("# deb http://x/debian bookworm main\ndeb http://sec/debian-security bookworm-security main\ndeb [arch=amd64] http://m.example/debian bookworm main\n"), "http://m.example/debian");
  assert.equal(parseAptMirror("Types: deb\nURIs: http://s/debian-security\nSuites: bookworm-security\n"), undefined);
  assert.equal(parseAptMirror(""), undefined);
});

test("hostDebianMirror looks at sources.list and sources.list.d", (t) => {
  const d = tmp(t);
  mkdirSync(join(d, "sources.list.d"));
  assert.equal(hostDebianMirror(d), undefined);
  writeFileSync(join(d, "sources.list.d", "other.list"), "deb https://packages.example.com/repo stable main\n");
  writeFileSync(join(d, "sources.list.d", "debian.sources"), "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm\n");
  assert.equal(hostDebianMirror(d), "http://mirror.example/debian/");
});

test("parseDpkgStatus lists installed packages with versions, sorted", () => {
  const status = [
    "Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:1.2.13.dfsg-1",
    "Package: removed\nStatus: deinstall ok config-files\nVersion: 1.0",
    "Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b7\nDescription: x\n more",
  ].join("\n\n");
  assert.deepEqual(parseDpkgStatus(status), ["bash=5.2.15-2+b7", "zlib1g=1:1.2.13.dfsg-1"]);
});

test("slimDebianRootfs removes caches, logs, host files and docs; writes apt config", (t) => {
  const r = tmp(t);
  const f = (p: string, text = "x") => {
    mkdirSync(join(r, p, ".."), { recursive: true });
    writeFileSync(join(r, p), text);
  };
  f("var/lib/apt/lists/deb.debian.org_dists_bookworm_InRelease");
  mkdirSync(join(r, "var/lib/apt/lists/partial"), { recursive: true });
  f("var/cache/apt/pkgcache.bin");
  f("var/cache/apt/archives/bash.deb");
  f("var/log/dpkg.log");
  f("var/log/wtmp", "data");
  f("var/log/apt/history.log");
  f("var/cache/debconf/config.dat");
  f("var/cache/debconf/config.dat-old");
  f("var/lib/dpkg/status", "Package: bash\n");
  f("var/lib/dpkg/status-old");
  f("etc/resolv.conf", "nameserver 10.0.0.1\n");
  chmodSync(join(r, "etc/resolv.conf"), 0o755);
  f("etc/hostname", "buildhost\n");
  f("etc/shadow", "root:*:20784:0:99999:7:::\n");
  f("etc/shadow-", "old");
  f("etc/apt/sources.list", "deb http://m/debian bookworm main\n");
  f("usr/share/doc/bash/copyright", "GPL");
  f("usr/share/doc/bash/README");
  f("usr/share/man/man1/bash.1.gz");
  f("usr/share/locale/de/LC_MESSAGES/bash.mo");
  f("usr/share/locale/locale.alias", "alias");
  f("tmp/junk");
  slimDebianRootfs(r, { epochSeconds: 1735689600, mirror: "http://deb.debian.org/debian", suite: "bookworm" });
  assert.deepEqual(readdirSync(join(r, "var/lib/apt/lists")), ["partial"]);
  assert.deepEqual(readdirSync(join(r, "var/cache/apt")), ["archives"]);
  assert.deepEqual(readdirSync(join(r, "var/cache/apt/archives")), []);
  assert.equal(existsSync(join(r, "var/log/dpkg.log")), false);
  assert.equal(readFileSync(join(r, "var/log/wtmp"), "utf8"), "");
  assert.equal(existsSync(join(r, "var/log/apt/history.log")), false);
  assert.deepEqual(readdirSync(join(r, "var/cache/debconf")), ["config.dat"]);
  assert.deepEqual(readdirSync(join(r, "var/lib/dpkg")), ["status"]);
  assert.equal(readFileSync(join(r, "etc/resolv.conf"), "utf8"), "");
  assert.equal(lstatSync(join(r, "etc/resolv.conf")).mode & 0o777, 0o644);
  assert.equal(readFileSync(join(r, "etc/hostname"), "utf8"), "");
  assert.match(readFileSync(join(r, "etc/hosts"), "utf8"), /^127\.0\.0\.1\tlocalhost\n/);
  assert.equal(readFileSync(join(r, "etc/shadow"), "utf8"), "root:*:20089:0:99999:7:::\n");
  assert.equal(existsSync(join(r, "etc/shadow-")), false);
  assert.equal(existsSync(join(r, "etc/apt/sources.list")), false);
  const sources = readFileSync(join(r, "etc/apt/sources.list.d/debian.sources"), "utf8");
  assert.match(sources, /URIs: http:\/\/deb\.debian\.org\/debian\nSuites: bookworm bookworm-updates\n/);
  assert.match(sources, /URIs: http:\/\/deb\.debian\.org\/debian-security\nSuites: bookworm-security\n/);
  assert.match(readFileSync(join(r, "etc/apt/apt.conf.d/docker-clean"), "utf8"), /Dir::Cache::pkgcache "";/);
  assert.match(readFileSync(join(r, "etc/dpkg/dpkg.cfg.d/docker"), "utf8"), /path-include \/usr\/share\/doc\/\*\/copyright/);
  assert.deepEqual(readdirSync(join(r, "usr/share/doc/bash")), ["copyright"]);
  assert.deepEqual(readdirSync(join(r, "usr/share/man")), []);
  assert.deepEqual(readdirSync(join(r, "usr/share/locale")), ["locale.alias"]);
  assert.deepEqual(readdirSync(join(r, "tmp")), []);
});

test("hostExtraCAs finds .crt files recursively, sorted, and tolerates a missing directory", (t) => {
  const d = tmp(t);
  assert.deepEqual(hostExtraCAs(join(d, "none")), []);
  mkdirSync(join(d, "corp"));
  writeFileSync(join(d, "z.crt"), "z");
  writeFileSync(join(d, "corp", "a.crt"), "a");
  writeFileSync(join(d, "README"), "not a cert");
  assert.deepEqual(hostExtraCAs(d), ["corp/a.crt", "z.crt"]);
});

test("writeNodeLayer lays out node, npm links, entrypoint and the node user over the base accounts", (t) => {
  const d = tmp(t);
  const base = join(d, "base");
  mkdirSync(join(base, "etc"), { recursive: true });
  writeFileSync(join(base, "etc/passwd"), "root:x:0:0:root:/root:/bin/bash\n");
  writeFileSync(join(base, "etc/group"), "root:x:0:\n");
  writeFileSync(join(base, "etc/shadow"), "root:*:20089:0:99999:7:::\n");
  chmodSync(join(base, "etc/shadow"), 0o640);
  writeFileSync(join(d, "node-bin"), "ELF");
  mkdirSync(join(d, "inc"));
  writeFileSync(join(d, "inc", "node.h"), "/* h */");
  const layer = join(d, "layer");
  mkdirSync(layer);
  writeNodeLayer(layer, { nodeBinary: join(d, "node-bin"), baseRootfs: base, epochSeconds: 1735689600, includeDir: join(d, "inc") });
  assert.equal(readFileSync(join(layer, "usr/local/bin/node"), "utf8"), "ELF");
  assert.equal(lstatSync(join(layer, "usr/local/bin/node")).mode & 0o777, 0o755);
  assert.equal(readlinkSync(join(layer, "usr/local/bin/npm")), "../lib/node_modules/npm/bin/npm-cli.js");
  assert.equal(readlinkSync(join(layer, "usr/local/bin/npx")), "../lib/node_modules/npm/bin/npx-cli.js");
  assert.equal(readFileSync(join(layer, "usr/local/bin/docker-entrypoint.sh"), "utf8"), NODE_ENTRYPOINT_SCRIPT);
  assert.equal(readFileSync(join(layer, "usr/local/include/node/node.h"), "utf8"), "/* h */");
  assert.equal(readFileSync(join(layer, "etc/passwd"), "utf8"), "root:x:0:0:root:/root:/bin/bash\nnode:x:1000:1000::/home/node:/bin/bash\n");
  assert.equal(readFileSync(join(layer, "etc/group"), "utf8"), "root:x:0:\nnode:x:1000:\n");
  assert.match(readFileSync(join(layer, "etc/shadow"), "utf8"), /\nnode:!:20089:/);
  assert.equal(lstatSync(join(layer, "etc/shadow")).mode & 0o777, 0o640);
  assert.equal(existsSync(join(layer, "etc/gshadow")), false);
  assert.ok(lstatSync(join(layer, "home/node")).isDirectory());
});

test("the node entrypoint runs node for options, non-commands and non-executable files", (t) => {
  const d = tmp(t);
  const bin = join(d, "bin");
  mkdirSync(bin);
  writeFileSync(join(bin, "node"), '#!/bin/sh\necho "node $*"\n');
  chmodSync(join(bin, "node"), 0o755);
  writeFileSync(join(d, "entry.sh"), NODE_ENTRYPOINT_SCRIPT);
  writeFileSync(join(d, "app.js"), "");
  const run = (...args: string[]) =>
    execFileSync("/bin/sh", [join(d, "entry.sh"), ...args], { cwd: d, env: { PATH: `${bin}:/usr/bin:/bin` }, encoding: "utf8" }).trim();
  assert.equal(run("-v"), "node -v");
  assert.equal(run("app.js"), "node app.js");
  assert.equal(run("no-such-command-xyz", "a"), "node no-such-command-xyz a");
  assert.equal(run("echo", "hi"), "hi");
  assert.equal(run(), "node");
});
