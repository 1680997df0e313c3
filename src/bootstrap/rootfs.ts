/**
 * Root filesystem layout for bootstrapped base images: the parts that are
 * plain file work (no network, no chroot), so they can be tested in a temp dir.
 *
 * Everything here is deterministic for equal inputs; mtimes are left to the
 * packer, which clamps them to SOURCE_DATE_EPOCH.
 */
import { chmodSync, chownSync, copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { invalidParameter } from "../core/errors.ts";

/** The PATH every official Debian-based and busybox image sets. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// ---------------------------------------------------------------- busybox

export interface BusyboxRootfsOptions {
  /** The host's static busybox binary (Debian busybox-static: /bin/busybox). */
  readonly busybox: string;
  /** Applet names (`busybox --list`); each becomes /bin/<name> → busybox. */
  readonly applets: readonly string[];
}

const BUSYBOX_PASSWD = [
  "root:x:0:0:root:/root:/bin/sh",
  "daemon:x:1:1:daemon:/usr/sbin:/bin/false",
  "bin:x:2:2:bin:/bin:/bin/false",
  "sys:x:3:3:sys:/dev:/bin/false",
  "sync:x:4:100:sync:/bin:/bin/sync",
  "mail:x:8:8:mail:/var/spool/mail:/bin/false",
  "www-data:x:33:33:www-data:/var/www:/bin/false",
  "operator:x:37:37:Operator:/var:/bin/false",
  "nobody:x:65534:65534:nobody:/home:/bin/false",
];
const BUSYBOX_GROUP = [
  "root:x:0:", "daemon:x:1:", "bin:x:2:", "sys:x:3:", "adm:x:4:", "tty:x:5:", "disk:x:6:", "wheel:x:10:root",
  "mail:x:12:", "www-data:x:33:", "operator:x:37:", "staff:x:50:", "users:x:100:", "nogroup:x:65534:",
];

/**
 * Lays out a busybox image in `dir` (which must exist and be empty): /bin/busybox
 * plus one symlink per applet, /etc/passwd and /etc/group, /tmp (1777), /root (0700),
 * and the empty mount points a container expects.
 * @throws invalid-parameter if an applet name is not a plain file name
 */
export function writeBusyboxRootfs(dir: string, o: BusyboxRootfsOptions): void {
  for (const d of ["bin", "dev", "etc", "home", "proc", "root", "sys", "tmp", "usr", "usr/sbin", "var", "var/spool", "var/spool/mail", "var/www"]) {
    mkdirSync(join(dir, d), { recursive: true, mode: 0o755 });
    chmodSync(join(dir, d), 0o755);
  }
  chmodSync(join(dir, "tmp"), 0o1777);
  chmodSync(join(dir, "root"), 0o700);
  copyFileSync(o.busybox, join(dir, "bin", "busybox"));
  chmodSync(join(dir, "bin", "busybox"), 0o755);
  for (const a of [...new Set(o.applets)].sort()) {
    if (a === "busybox") continue;
    if (!/^[A-Za-z0-9_.[\]-]+$/.test(a) || a === "." || a === "..") throw invalidParameter(`invalid busybox applet name ${JSON.stringify(a)}`);
    symlinkSync("busybox", join(dir, "bin", a));
  }
  writeFileSync(join(dir, "etc", "passwd"), BUSYBOX_PASSWD.join("\n") + "\n", { mode: 0o644 });
  writeFileSync(join(dir, "etc", "group"), BUSYBOX_GROUP.join("\n") + "\n", { mode: 0o644 });
}

/** Parses `busybox --list` output into applet names. */
export function parseAppletList(text: string): string[] {
  return text.split("\n").map((s) => s.trim()).filter((s) => s !== "");
}

// ---------------------------------------------------------------- users (passwd, group, shadow, gshadow)

export interface UserSpec {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  readonly shell: string;
}

export interface AccountFiles {
  readonly passwd: string;
  readonly group: string;
  readonly shadow?: string;
  readonly gshadow?: string;
}

function appendLine(text: string, line: string): string {
  return text === "" || text.endsWith("\n") ? `${text}${line}\n` : `${text}\n${line}\n`;
}

/**
 * Adds a user and its primary group (as `useradd` would, but without running
 * anything in the root filesystem). `lastChangeDays` fills shadow's third field.
 * @throws conflict-free: invalid-parameter if the name, uid or gid is taken
 */
export function addUser(files: AccountFiles, u: UserSpec, lastChangeDays: number): AccountFiles {
  const taken = (text: string, field: number, value: string) =>
    text.split("\n").some((l) => l.split(":")[field] === value);
  if (taken(files.passwd, 0, u.name)) throw invalidParameter(`user ${u.name} already exists`);
  if (taken(files.passwd, 2, String(u.uid))) throw invalidParameter(`uid ${u.uid} is already in use`);
  if (taken(files.group, 0, u.name) || taken(files.group, 2, String(u.gid))) throw invalidParameter(`group ${u.name} or gid ${u.gid} already exists`);
  return {
    passwd: appendLine(files.passwd, `${u.name}:x:${u.uid}:${u.gid}::${u.home}:${u.shell}`),
    group: appendLine(files.group, `${u.name}:x:${u.gid}:`),
    ...(files.shadow === undefined ? {} : { shadow: appendLine(files.shadow, `${u.name}:!:${lastChangeDays}:0:99999:7:::`) }),
    ...(files.gshadow === undefined ? {} : { gshadow: appendLine(files.gshadow, `${u.name}:!::`) }),
  };
}

/** Replaces shadow's "last password change" field (days since 1970) so the file does not record the build day. */
export function normalizeShadow(text: string, days: number): string {
  return text
    .split("\n")
    .map((l) => {
      const f = l.split(":");
      if (f.length < 3 || f[2] === "") return l;
      f[2] = String(days);
      return f.join(":");
    })
    .join("\n");
}

export function epochDays(epochSeconds: number): number {
  return Math.floor(epochSeconds / 86400);
}

// ---------------------------------------------------------------- Debian

/**
 * The first Debian mirror named in an APT source file: one-line `deb URL suite ...`
 * (sources.list) or deb822 (`URIs:` in *.sources). Security and update suites are
 * skipped: debootstrap needs the main archive. Undefined when none is found.
 */
export function parseAptMirror(text: string): string | undefined {
  // deb822 stanzas
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of stanza.split("\n")) {
      if (line.startsWith("#")) continue;
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (m !== null) fields.set(m[1]!.toLowerCase(), m[2]!.trim());
    }
    const uris = fields.get("uris");
    const types = fields.get("types") ?? "";
    const suites = (fields.get("suites") ?? "").split(/\s+/);
    if (fields.get("enabled")?.toLowerCase() === "no") continue;
    if (uris === undefined || !types.split(/\s+/).includes("deb")) continue;
    if (suites.every((s) => s.includes("security"))) continue;
    const first = uris.split(/\s+/)[0];
    if (first !== undefined && first !== "") return first;
  }
  // one-line format
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
    if (m !== null && !m[2]!.includes("security")) return m[1];
  }
  return undefined;
}

/** The host's Debian mirror from /etc/apt/sources.list and /etc/apt/sources.list.d/*.{list,sources}. */
export function hostDebianMirror(etcApt = "/etc/apt"): string | undefined {
  const files: string[] = [];
  if (existsSync(join(etcApt, "sources.list"))) files.push(join(etcApt, "sources.list"));
  const d = join(etcApt, "sources.list.d");
  if (existsSync(d)) {
    for (const f of readdirSync(d).sort()) if (f.endsWith(".list") || f.endsWith(".sources")) files.push(join(d, f));
  }
  for (const f of files) {
    const m = parseAptMirror(readFileSync(f, "utf8"));
    if (m !== undefined && /\/debian\/?$/.test(m)) return m;
  }
  return undefined;
}

/**
 * Installed packages from a dpkg status file, as sorted `name=version` strings
 * (`name:arch=version` for Multi-Arch: same packages). The exact inputs of an image.
 */
export function parseDpkgStatus(text: string): string[] {
  const out: string[] = [];
  for (const stanza of text.split(/\n\n+/)) {
    let name: string | undefined;
    let version: string | undefined;
    let status = "";
    for (const line of stanza.split("\n")) {
      if (line.startsWith("Package: ")) name = line.slice(9).trim();
      else if (line.startsWith("Version: ")) version = line.slice(9).trim();
      else if (line.startsWith("Status: ")) status = line.slice(8).trim();
    }
    if (name !== undefined && version !== undefined && status.endsWith(" installed")) out.push(`${name}=${version}`);
  }
  return out.sort();
}

/** APT and dpkg settings of the official slim images (debuerreotype's "slimify" and docker-* apt.conf snippets). */
export const SLIM_DPKG_EXCLUDES = [
  "path-exclude /usr/share/doc/*",
  "path-include /usr/share/doc/*/copyright",
  "path-exclude /usr/share/groff/*",
  "path-exclude /usr/share/info/*",
  "path-exclude /usr/share/linda/*",
  "path-exclude /usr/share/lintian/*",
  "path-exclude /usr/share/locale/*",
  "path-include /usr/share/locale/locale.alias",
  "path-exclude /usr/share/man/*",
];

/** Empties every regular file under `dir` (logs stay as empty files, as in the official images). */
function truncateLogs(dir: string): void {
  if (!existsSync(dir)) return;
  for (const n of readdirSync(dir)) {
    const f = join(dir, n);
    const st = lstatSync(f);
    if (st.isDirectory()) truncateLogs(f);
    else if (st.isFile()) {
      if (n === "bootstrap.log" || n.endsWith(".log")) rmSync(f, { force: true });
      else truncateSync(f, 0);
    }
  }
}

function rmChildren(dir: string, keep: (name: string) => boolean = () => false): void {
  if (!existsSync(dir)) return;
  for (const n of readdirSync(dir)) if (!keep(n)) rmSync(join(dir, n), { recursive: true, force: true });
}

export interface SlimOptions {
  /** SOURCE_DATE_EPOCH in seconds: shadow's day fields are set from it. */
  readonly epochSeconds: number;
  /** The mirror the image's APT sources should name. */
  readonly mirror: string;
  readonly suite: string;
  /** Also drop docs, man pages and locales (the -slim images); default true. */
  readonly slim?: boolean;
}

/**
 * Turns a fresh debootstrap tree into a base image filesystem: no APT lists or
 * caches, no logs, no host files (resolv.conf, hostname), apt sources for the
 * mirror plus updates and security, the official images' apt.conf snippets,
 * shadow without the build day, and (slim) no docs, man pages or locales, with
 * a dpkg config that keeps later installs slim too.
 */
export function slimDebianRootfs(dir: string, o: SlimOptions): void {
  const p = (...parts: string[]) => join(dir, ...parts);
  rmChildren(p("var/lib/apt/lists"), (n) => n === "partial" || n === "lock");
  rmChildren(p("var/lib/apt/lists/partial"));
  rmChildren(p("var/cache/apt"), (n) => n === "archives");
  rmChildren(p("var/cache/apt/archives"), (n) => n === "partial" || n === "lock");
  rmChildren(p("var/cache/apt/archives/partial"));
  truncateLogs(p("var/log"));
  rmChildren(p("var/cache/debconf"), (n) => !n.endsWith("-old"));
  rmChildren(p("var/lib/dpkg"), (n) => !n.endsWith("-old"));
  rmChildren(p("tmp"));
  rmChildren(p("var/tmp"));
  rmSync(p("var/cache/ldconfig/aux-cache"), { force: true });
  rmSync(p("debootstrap"), { recursive: true, force: true });
  // host files debootstrap copies in; the runtime bind-mounts its own
  for (const [f, text] of [
    ["etc/resolv.conf", ""],
    ["etc/hostname", ""],
    ["etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"],
  ] as const) {
    rmSync(p(f), { force: true });
    writeFileSync(p(f), text, { mode: 0o644 });
  }
  if (existsSync(p("etc/machine-id"))) writeFileSync(p("etc/machine-id"), "");
  for (const f of ["etc/shadow", "etc/shadow-", "etc/gshadow-", "etc/passwd-", "etc/group-"]) {
    if (!existsSync(p(f))) continue;
    if (f.startsWith("etc/shadow")) writeFileSync(p(f), normalizeShadow(readFileSync(p(f), "utf8"), epochDays(o.epochSeconds)));
    if (f.endsWith("-")) rmSync(p(f), { force: true });
  }
  // APT sources as the official image writes them (deb822)
  const mirror = o.mirror.replace(/\/+$/, "");
  const security = /^https?:\/\/deb\.debian\.org\/debian$/.test(mirror) ? "http://deb.debian.org/debian-security" : mirror.replace(/\/debian$/, "/debian-security");
  rmSync(p("etc/apt/sources.list"), { force: true });
  mkdirSync(p("etc/apt/sources.list.d"), { recursive: true });
  writeFileSync(
    p("etc/apt/sources.list.d/debian.sources"),
    `Types: deb\nURIs: ${mirror}\nSuites: ${o.suite} ${o.suite}-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n` +
      `Types: deb\nURIs: ${security}\nSuites: ${o.suite}-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n`,
  );
  mkdirSync(p("etc/apt/apt.conf.d"), { recursive: true });
  writeFileSync(
    p("etc/apt/apt.conf.d/docker-clean"),
    'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\n' +
      'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\n' +
      'Dir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n',
  );
  writeFileSync(p("etc/apt/apt.conf.d/docker-no-languages"), 'Acquire::Languages "none";\n');
  writeFileSync(p("etc/apt/apt.conf.d/docker-gzip-indexes"), 'Acquire::GzipIndexes "true";\n');
  writeFileSync(p("etc/apt/apt.conf.d/docker-autoremove-suggests"), 'Apt::AutoRemove::SuggestsImportant "false";\n');
  if (o.slim !== false) {
    mkdirSync(p("etc/dpkg/dpkg.cfg.d"), { recursive: true });
    writeFileSync(p("etc/dpkg/dpkg.cfg.d/docker"), SLIM_DPKG_EXCLUDES.join("\n") + "\n");
    pruneDocs(dir);
  }
}

/** Applies SLIM_DPKG_EXCLUDES to files already installed. */
function pruneDocs(dir: string): void {
  const share = join(dir, "usr/share");
  for (const d of ["groff", "info", "linda", "lintian", "man"]) rmChildren(join(share, d));
  rmChildren(join(share, "locale"), (n) => n === "locale.alias");
  const doc = join(share, "doc");
  if (!existsSync(doc)) return;
  for (const pkg of readdirSync(doc)) {
    const pd = join(doc, pkg);
    if (!lstatSync(pd).isDirectory()) {
      rmSync(pd, { force: true });
      continue;
    }
    rmChildren(pd, (n) => n === "copyright");
  }
}

// ---------------------------------------------------------------- host CAs

/**
 * The extra certificate authorities the host trusts: every *.crt under
 * /usr/local/share/ca-certificates (update-ca-certificates' local directory),
 * as paths relative to it, sorted.
 */
export function hostExtraCAs(dir = "/usr/local/share/ca-certificates"): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const abs = join(dir, rel);
    for (const n of readdirSync(abs).sort()) {
      const r = rel === "" ? n : `${rel}/${n}`;
      const st = lstatSync(join(dir, r));
      if (st.isDirectory()) walk(r);
      else if (st.isFile() && n.endsWith(".crt")) out.push(r);
    }
  };
  if (existsSync(dir)) walk("");
  return out;
}

// ---------------------------------------------------------------- node

/**
 * The node image's entry point: runs `node` with the arguments when the first
 * one is an option (`-e ...`), is not a command on PATH, or is a file that is
 * not executable (`app.js`); otherwise runs the command itself. This is the
 * behaviour of the official image's docker-entrypoint.sh.
 */
export const NODE_ENTRYPOINT_SCRIPT = `#!/bin/sh
set -e

# berth image bootstrap: run "node ARGS" when the first argument is an option,
# not a command, or a non-executable file; otherwise run the command as given.
first="\${1-}"
if [ "\${first#-}" != "\${first}" ] || [ -z "$(command -v "\${first}")" ] || { [ -f "\${first}" ] && ! [ -x "\${first}" ]; }; then
  set -- node "$@"
fi

exec "$@"
`;

/** Ensures `rel` (a/b/c) exists under `root` with mode 0755 directories. */
export function mkdirs(root: string, rel: string, mode = 0o755): string {
  let cur = root;
  for (const part of rel.split("/").filter((s) => s !== "")) {
    cur = join(cur, part);
    if (!existsSync(cur)) {
      mkdirSync(cur);
      chmodSync(cur, mode);
    }
  }
  return cur;
}

/**
 * Lays out the node layer's own files under `dir` (an empty directory that
 * becomes a layer over the Debian base `baseRootfs`): /usr/local/bin/node (the
 * official binary), npm and npx links into /usr/local/lib/node_modules/npm
 * (which the caller unpacks), /usr/local/bin/docker-entrypoint.sh, the node
 * headers in /usr/local/include/node when `includeDir` is given, and the user
 * `node` (1000:1000, home /home/node, bash) added to the base's account files,
 * which keep the base's owner and mode (shadow is root:shadow 0640).
 */
export function writeNodeLayer(
  dir: string,
  o: { nodeBinary: string; baseRootfs: string; epochSeconds: number; includeDir?: string },
): void {
  const bin = mkdirs(dir, "usr/local/bin");
  copyFileSync(o.nodeBinary, join(bin, "node"));
  chmodSync(join(bin, "node"), 0o755);
  mkdirs(dir, "usr/local/lib/node_modules");
  symlinkSync("../lib/node_modules/npm/bin/npm-cli.js", join(bin, "npm"));
  symlinkSync("../lib/node_modules/npm/bin/npx-cli.js", join(bin, "npx"));
  writeFileSync(join(bin, "docker-entrypoint.sh"), NODE_ENTRYPOINT_SCRIPT);
  chmodSync(join(bin, "docker-entrypoint.sh"), 0o755);
  if (o.includeDir !== undefined) {
    mkdirs(dir, "usr/local/include");
    cpSync(o.includeDir, join(dir, "usr/local/include/node"), { recursive: true });
  }
  const etc = mkdirs(dir, "etc");
  const base = readAccounts(o.baseRootfs);
  const acc = addUser(base, { name: "node", uid: 1000, gid: 1000, home: "/home/node", shell: "/bin/bash" }, epochDays(o.epochSeconds));
  const files: [string, string | undefined][] = [["passwd", acc.passwd], ["group", acc.group], ["shadow", acc.shadow], ["gshadow", acc.gshadow]];
  for (const [name, text] of files) {
    if (text === undefined) continue;
    const target = join(etc, name);
    writeFileSync(target, text);
    const st = statSync(join(o.baseRootfs, "etc", name));
    chmodSync(target, st.mode & 0o7777);
    if (process.getuid?.() === 0) chownSync(target, st.uid, st.gid);
  }
  mkdirs(dir, "home");
  const home = mkdirs(dir, "home/node");
  if (process.getuid?.() === 0) chownSync(home, 1000, 1000);
}

/** Reads the account files of a root filesystem (shadow files only when present). */
export function readAccounts(rootfs: string): AccountFiles {
  const read = (f: string) => (existsSync(join(rootfs, f)) ? readFileSync(join(rootfs, f), "utf8") : undefined);
  const shadow = read("etc/shadow");
  const gshadow = read("etc/gshadow");
  return {
    passwd: read("etc/passwd") ?? "",
    group: read("etc/group") ?? "",
    ...(shadow === undefined ? {} : { shadow }),
    ...(gshadow === undefined ? {} : { gshadow }),
  };
}
