import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, writeFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kindOf } from "../core/errors.ts";
import {
  buildSpec, computeArgs, computeCapabilities, mergeEnv, prepareSpec, serializeSpec,
  DEFAULT_CAPABILITIES, DEFAULT_MASKED_PATHS, DEFAULT_PATH, DEFAULT_READONLY_PATHS, RLIM_INFINITY,
  type ContainerSpecInput, type HostFacts,
} from "./spec.ts";
import type { ExecUser } from "./user.ts";

const host: HostFacts = {
  cgroupVersion: "hybrid", nofileHardLimit: 20000, hardLimits: { nofile: 20000, nproc: 5000, core: Infinity },
  canRaiseLimits: false, swapAccounting: true, capLastCap: 40, arch: "x86_64", kernel: [6, 1],
  initPath: "/usr/bin/tini-static", devices: [{ type: "c", path: "/dev/kmsg", major: 1, minor: 11 }],
};
const root: ExecUser = { uid: 0, gid: 0, additionalGids: [10], home: "/root" };
const base: ContainerSpecInput = { id: "0123456789abcdef0123", rootfs: "/r", image: { Cmd: ["sh"] } };
const spec = (o: Partial<ContainerSpecInput> = {}, h: Partial<HostFacts> = {}, u: ExecUser = root) => buildSpec({ ...base, ...o }, { ...host, ...h }, u);

test("entrypoint and cmd combination (moby create rules)", () => {
  const cases: { name: string; image: { Entrypoint?: string[]; Cmd?: string[] }; entrypoint?: string[]; cmd?: string[]; want: string[] | "invalid-parameter" }[] = [
    { name: "image cmd only", image: { Cmd: ["sh", "-c", "x"] }, want: ["sh", "-c", "x"] },
    { name: "image entrypoint + cmd", image: { Entrypoint: ["/ep"], Cmd: ["a"] }, want: ["/ep", "a"] },
    { name: "args replace cmd", image: { Entrypoint: ["/ep"], Cmd: ["a"] }, cmd: ["b", "c"], want: ["/ep", "b", "c"] },
    { name: "--entrypoint drops image cmd", image: { Entrypoint: ["/ep"], Cmd: ["a"] }, entrypoint: ["/other"], want: ["/other"] },
    { name: "--entrypoint with args", image: { Cmd: ["a"] }, entrypoint: ["/other"], cmd: ["x"], want: ["/other", "x"] },
    { name: "--entrypoint '' with args", image: { Entrypoint: ["/ep"], Cmd: ["a"] }, entrypoint: [""], cmd: ["echo", "hi"], want: ["echo", "hi"] },
    { name: "--entrypoint '' alone", image: { Entrypoint: ["/ep"], Cmd: ["a"] }, entrypoint: [""], want: "invalid-parameter" },
    { name: "nothing at all", image: {}, want: "invalid-parameter" },
    { name: "empty args keep image cmd", image: { Cmd: ["a"] }, cmd: [], want: ["a"] },
  ];
  for (const c of cases) {
    if (c.want === "invalid-parameter") {
      assert.throws(() => computeArgs(c.image, c.entrypoint, c.cmd), (e: Error) => kindOf(e) === "invalid-parameter" && e.message === "No command specified", c.name);
    } else assert.deepEqual(computeArgs(c.image, c.entrypoint, c.cmd), c.want, c.name);
  }
});

test("env merge: defaults, image, -e overrides, TERM with -t, HOME", () => {
  const cases: { name: string; o: Partial<ContainerSpecInput>; u?: ExecUser; want: string[] }[] = [
    { name: "defaults", o: {}, want: [`PATH=${DEFAULT_PATH}`, "HOSTNAME=0123456789ab", "HOME=/root"] },
    { name: "image PATH wins over default", o: { image: { Cmd: ["sh"], Env: ["PATH=/x", "A=1"] } }, want: ["PATH=/x", "HOSTNAME=0123456789ab", "A=1", "HOME=/root"] },
    { name: "-e overrides by key in place", o: { image: { Cmd: ["sh"], Env: ["A=1", "B=2"] }, env: ["A=9", "C=3"] }, want: [`PATH=${DEFAULT_PATH}`, "HOSTNAME=0123456789ab", "A=9", "B=2", "C=3", "HOME=/root"] },
    { name: "bare key removes", o: { image: { Cmd: ["sh"], Env: ["A=1"] }, env: ["A"] }, want: [`PATH=${DEFAULT_PATH}`, "HOSTNAME=0123456789ab", "HOME=/root"] },
    { name: "tty adds TERM", o: { tty: true, hostname: "h" }, want: [`PATH=${DEFAULT_PATH}`, "HOSTNAME=h", "TERM=xterm", "HOME=/root"] },
    { name: "user may override HOSTNAME, TERM and HOME", o: { tty: true, env: ["HOSTNAME=x", "TERM=dumb", "HOME=/h"] }, want: [`PATH=${DEFAULT_PATH}`, "HOSTNAME=x", "TERM=dumb", "HOME=/h"] },
    { name: "HOME of non-root user", o: {}, u: { uid: 1, gid: 1, additionalGids: [], home: "/" }, want: [`PATH=${DEFAULT_PATH}`, "HOSTNAME=0123456789ab", "HOME=/"] },
  ];
  for (const c of cases) assert.deepEqual(spec(c.o, {}, c.u ?? root).process.env, c.want, c.name);
  assert.deepEqual(mergeEnv(["A=1"], ["A=2=3"]), ["A=2=3"]);
});

test("capabilities: defaults, add/drop, ALL, prefixes, case, privileged", () => {
  const D = [...DEFAULT_CAPABILITIES];
  const cases: { name: string; o: Parameters<typeof computeCapabilities>[0]; want: string[] | "invalid-parameter" }[] = [
    { name: "default 14", o: {}, want: D },
    { name: "add without prefix, lower case", o: { capAdd: ["net_admin"] }, want: [...D, "CAP_NET_ADMIN"] },
    { name: "drop with prefix", o: { capDrop: ["CAP_CHOWN", "kill"] }, want: D.filter((c) => c !== "CAP_CHOWN" && c !== "CAP_KILL") },
    { name: "drop ALL", o: { capDrop: ["ALL"] }, want: [] },
    { name: "drop all + add", o: { capDrop: ["all"], capAdd: ["NET_BIND_SERVICE"] }, want: ["CAP_NET_BIND_SERVICE"] },
    { name: "add ALL - drop", o: { capAdd: ["ALL"], capDrop: ["SYS_ADMIN"] }, want: "all-but-sys-admin" as never },
    { name: "unknown", o: { capAdd: ["FOO"] }, want: "invalid-parameter" },
    { name: "adding a default twice", o: { capAdd: ["CHOWN"] }, want: D },
  ];
  for (const c of cases) {
    if (c.want === "invalid-parameter") {
      assert.throws(() => computeCapabilities(c.o), (e: Error) => kindOf(e) === "invalid-parameter" && e.message === 'unknown capability: "CAP_FOO"', c.name);
    } else if ((c.want as unknown) === "all-but-sys-admin") {
      const got = computeCapabilities(c.o);
      assert.equal(got.length, 40, c.name);
      assert.ok(!got.includes("CAP_SYS_ADMIN"));
    } else assert.deepEqual(computeCapabilities(c.o), c.want, c.name);
  }
  assert.equal(computeCapabilities({ privileged: true }).length, 41);
  assert.equal(computeCapabilities({ privileged: true }, 37).length, 38, "clamped to the host's cap_last_cap");
  const caps = spec().process.capabilities;
  assert.deepEqual(caps?.bounding, D);
  assert.deepEqual(caps?.effective, D);
  assert.deepEqual(caps?.inheritable, []);
});

test("privileged: all caps, no masks, all devices, rw /sys, no seccomp", () => {
  const s = spec({ privileged: true });
  assert.equal(s.process.capabilities?.effective.length, 41);
  assert.deepEqual(s.linux.maskedPaths, []);
  assert.deepEqual(s.linux.readonlyPaths, []);
  assert.deepEqual(s.linux.resources?.devices, [{ allow: true, access: "rwm" }]);
  assert.deepEqual(s.linux.devices, host.devices);
  assert.equal(s.linux.seccomp, undefined);
  assert.ok(!s.mounts.find((m) => m.destination === "/sys")?.options?.includes("ro"));
});

test("masked and readonly paths, devices allowlist", () => {
  const s = spec();
  assert.deepEqual(s.linux.maskedPaths, [...DEFAULT_MASKED_PATHS]);
  assert.ok(s.linux.maskedPaths?.includes("/proc/kcore") && s.linux.maskedPaths.includes("/sys/firmware"));
  assert.deepEqual(s.linux.readonlyPaths, [...DEFAULT_READONLY_PATHS]);
  const dev = s.linux.resources?.devices ?? [];
  assert.deepEqual(dev[0], { allow: false, access: "rwm" });
  for (const [maj, min] of [[1, 3], [1, 5], [1, 7], [1, 8], [1, 9], [5, 0], [5, 2]]) {
    assert.ok(dev.some((d) => d.allow && d.major === maj && d.minor === min && d.access === "rwm"), `${maj}:${min}`);
  }
  assert.equal(s.linux.devices, undefined);
});

test("default mounts, shm size, user mounts replace and sort", () => {
  const s = spec();
  assert.deepEqual(s.mounts.map((m) => m.destination), ["/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm"]);
  assert.ok(s.mounts.find((m) => m.destination === "/dev/shm")?.options?.includes("size=67108864"));
  assert.ok(s.mounts.find((m) => m.destination === "/sys")?.options?.includes("ro"));
  assert.ok(s.mounts.find((m) => m.destination === "/sys/fs/cgroup")?.options?.includes("ro"));
  const t = spec({
    shmSize: 1 << 20,
    mounts: [
      { source: "/v/b", destination: "/data/sub", type: "bind", options: ["rbind"] },
      { source: "/v/a", destination: "/data", type: "bind", options: ["rbind"] },
      { source: "/h/hosts", destination: "/etc/hosts", type: "bind", options: ["rbind", "ro"] },
      { source: "tmpfs", destination: "/dev/mqueue", type: "tmpfs", options: [] },
    ],
  });
  assert.ok(t.mounts.find((m) => m.destination === "/dev/shm")?.options?.includes("size=1048576"));
  assert.equal(t.mounts.filter((m) => m.destination === "/dev/mqueue").length, 1);
  assert.equal(t.mounts.find((m) => m.destination === "/dev/mqueue")?.type, "tmpfs");
  const dests = t.mounts.map((m) => m.destination);
  assert.ok(dests.indexOf("/data") < dests.indexOf("/data/sub"), "parents before children");
});

test("namespaces: network path/host/none; cgroup ns only on v2", () => {
  const types = (s: ReturnType<typeof spec>) => s.linux.namespaces.map((n) => n.type + (n.path ? `=${n.path}` : ""));
  assert.deepEqual(types(spec()), ["pid", "ipc", "uts", "mount", "network"]);
  assert.deepEqual(types(spec({ netns: "/run/netns/x" })), ["pid", "ipc", "uts", "mount", "network=/run/netns/x"]);
  assert.deepEqual(types(spec({ netns: "host" })), ["pid", "ipc", "uts", "mount"]);
  assert.deepEqual(types(spec({}, { cgroupVersion: 2 })), ["pid", "ipc", "uts", "mount", "network", "cgroup"]);
  assert.deepEqual(types(spec({}, { cgroupVersion: 1 })), ["pid", "ipc", "uts", "mount", "network"]);
});

test("rlimits never exceed the host's hard limit", () => {
  assert.deepEqual(spec().process.rlimits, [{ type: "RLIMIT_NOFILE", soft: 20000, hard: 20000 }]);
  assert.deepEqual(spec({}, { nofileHardLimit: 2_000_000 }).process.rlimits, [{ type: "RLIMIT_NOFILE", soft: 1048576, hard: 1048576 }]);
  assert.deepEqual(spec({ ulimits: [{ name: "nofile", soft: 100, hard: 200 }, { name: "nproc", soft: 10, hard: 20 }] }).process.rlimits, [
    { type: "RLIMIT_NOFILE", soft: 100, hard: 200 },
    { type: "RLIMIT_NPROC", soft: 10, hard: 20 },
  ]);
  for (const bad of [{ name: "nofile", soft: 1, hard: 30000 }, { name: "bogus", soft: 1, hard: 1 }, { name: "nproc", soft: 9, hard: 8 }]) {
    assert.throws(() => spec({ ulimits: [bad] }), (e: Error) => kindOf(e) === "invalid-parameter", bad.name);
  }
  assert.doesNotThrow(() => spec({ ulimits: [{ name: "nofile", soft: 1, hard: 30000 }] }, { canRaiseLimits: true }));
  const unl = spec({ ulimits: [{ name: "core", soft: -1, hard: -1 }] });
  assert.deepEqual(unl.process.rlimits?.[1], { type: "RLIMIT_CORE", soft: RLIM_INFINITY, hard: RLIM_INFINITY });
  assert.match(serializeSpec(unl), /"soft": 18446744073709551615/);
});

test("resources: memory, swap, cpus, shares, pids", () => {
  const r = (o: Partial<ContainerSpecInput>, h: Partial<HostFacts> = {}) => spec(o, h).linux.resources;
  assert.deepEqual(r({ memory: 100 })?.memory, { limit: 100, swap: 200 });
  assert.deepEqual(r({ memory: 100, memorySwap: 300 })?.memory, { limit: 100, swap: 300 });
  assert.deepEqual(r({ memory: 100, memorySwap: -1 })?.memory, { limit: 100, swap: -1 });
  assert.deepEqual(r({ memory: 100 }, { swapAccounting: false })?.memory, { limit: 100 });
  assert.throws(() => r({ memory: 100, memorySwap: 50 }), (e: Error) => kindOf(e) === "invalid-parameter");
  assert.throws(() => r({ memorySwap: 50 }), (e: Error) => kindOf(e) === "invalid-parameter");
  assert.deepEqual(r({ cpus: 1.5 })?.cpu, { quota: 150000, period: 100000 });
  assert.deepEqual(r({ cpuShares: 512 })?.cpu, { shares: 512 });
  assert.deepEqual(r({ pidsLimit: 64 })?.pids, { limit: 64 });
  assert.equal(r({ pidsLimit: -1 })?.pids, undefined);
  assert.equal(r({})?.memory, undefined);
  assert.equal(spec({ cgroupParent: "/p" }).linux.cgroupsPath, "/p/0123456789abcdef0123");
});

test("seccomp default profile is an allowlist gated by capabilities", () => {
  const s = spec().linux.seccomp;
  assert.equal(s?.defaultAction, "SCMP_ACT_ERRNO");
  assert.equal(s?.defaultErrnoRet, 1);
  const allowed = new Set(s?.syscalls.filter((x) => x.action === "SCMP_ACT_ALLOW" && x.args === undefined).flatMap((x) => x.names));
  for (const n of ["read", "write", "execve", "exit_group", "arch_prctl", "ptrace"]) assert.ok(allowed.has(n), n);
  for (const n of ["mount", "umount2", "unshare", "setns", "kexec_load", "init_module", "reboot", "swapon", "keyctl", "add_key", "bpf", "clone"]) {
    assert.ok(!allowed.has(n), n);
  }
  assert.ok(s?.syscalls.some((x) => x.names.includes("clone") && x.args?.[0]?.op === "SCMP_CMP_MASKED_EQ"));
  const admin = spec({ capAdd: ["SYS_ADMIN"] }).linux.seccomp;
  const adminAllowed = new Set(admin?.syscalls.filter((x) => x.action === "SCMP_ACT_ALLOW" && x.args === undefined).flatMap((x) => x.names));
  for (const n of ["mount", "unshare", "setns", "clone"]) assert.ok(adminAllowed.has(n), n);
  assert.equal(spec({ seccomp: "unconfined" }).linux.seccomp, undefined);
  assert.ok(!new Set(spec({}, { kernel: [4, 4] }).linux.seccomp?.syscalls.flatMap((x) => x.names)).has("ptrace"));
});

test("process basics: no-new-privileges, read-only root, hostname, workdir, init", () => {
  const s = spec({ noNewPrivileges: true, readOnly: true, hostname: "web", domainname: "example.org", workdir: "/app", labels: { a: "b" } });
  assert.equal(s.process.noNewPrivileges, true);
  assert.deepEqual(s.root, { path: "/r", readonly: true });
  assert.equal(s.hostname, "web");
  assert.equal(s.domainname, "example.org");
  assert.equal(s.process.cwd, "/app");
  assert.deepEqual(s.annotations, { a: "b" });
  assert.equal(spec().hostname, "0123456789ab");
  assert.equal(spec({ netns: "host" }, { hostname: "the-host" }).hostname, "the-host");
  assert.equal(spec({ netns: "host", hostname: "mine" }, { hostname: "the-host" }).hostname, "mine");
  assert.equal(spec().process.cwd, "/");
  assert.equal(spec({ image: { Cmd: ["sh"], WorkingDir: "/w" } }).process.cwd, "/w");
  assert.equal(spec({ image: { Cmd: ["sh"], WorkingDir: "/w" }, workdir: "/x" }).process.cwd, "/x");
  assert.throws(() => spec({ workdir: "rel" }), (e: Error) => kindOf(e) === "invalid-parameter");
  const i = spec({ init: true, cmd: ["app", "x"] });
  assert.deepEqual(i.process.args, ["/sbin/docker-init", "--", "app", "x"]);
  assert.deepEqual(i.mounts.find((m) => m.destination === "/sbin/docker-init"), { destination: "/sbin/docker-init", type: "bind", source: "/usr/bin/tini-static", options: ["rbind", "ro"] });
  assert.throws(() => spec({ init: true }, { initPath: undefined }), (e: Error) => kindOf(e) === "invalid-parameter");
  assert.equal(spec({ tty: true }).process.terminal, true);
  assert.deepEqual(spec().process.user, { uid: 0, gid: 0, additionalGids: [10] });
});

test("prepareSpec resolves -u against the rootfs, else the image user", async () => {
  const dir = await mkdtemp(join(tmpdir(), "berth-spec-"));
  try {
    await mkdir(join(dir, "etc"));
    await writeFile(join(dir, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n");
    await writeFile(join(dir, "etc", "group"), "root:x:0:\napp:x:1000:\nextra:x:2000:app\n");
    const a = await prepareSpec({ ...base, rootfs: dir, image: { Cmd: ["sh"], User: "app" } }, host);
    assert.deepEqual(a.spec.process.user, { uid: 1000, gid: 1000, additionalGids: [2000] });
    assert.ok(a.spec.process.env.includes("HOME=/home/app"));
    const b = await prepareSpec({ ...base, rootfs: dir, image: { Cmd: ["sh"], User: "app" }, user: "0:2000" }, host);
    assert.deepEqual(b.spec.process.user, { uid: 0, gid: 2000, additionalGids: [] });
    await assert.rejects(prepareSpec({ ...base, rootfs: dir, user: "ghost" }, host), (e: Error) => e.message === "unable to find user ghost: no matching entries in passwd file");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
