/**
 * The runtime driver end to end: a busybox rootfs, a spec built with Docker's
 * defaults, conmon + runc. Proves isolation, capabilities, exit codes, logs,
 * signals, pause/resume, exec and cleanup.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { copyFile, mkdir, mkdtemp, readdir, rm, rmdir, stat, symlink, writeFile, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { requires, findExecutable } from "../../../src/testing/requires.ts";
import { ConmonRuntime } from "../../../src/runtime/conmon-runtime.ts";
import { prepareSpec, probeHost, serializeSpec, type ContainerSpecInput, type HostFacts } from "../../../src/runtime/spec.ts";
import { readLogs } from "../../../src/runtime/logs.ts";
import type { OciProcess } from "../../../src/runtime/oci-spec.ts";
import { kindOf } from "../../../src/core/errors.ts";

const skip = requires("root", "runc", "conmon", "busybox");
const APPLETS = ["sh", "ps", "mount", "cat", "true", "sleep", "ls", "id", "echo", "grep", "kill", "unshare", "hostname", "touch", "tty", "mkdir", "tr"];

let tmp = "";
let rootfs = "";
let host: HostFacts;
let rt: ConmonRuntime;
const created: { id: string; runDir: string }[] = [];
let seq = 0;
/** A cgroup parent of this test run's own, removed in after(). */
const CGROUP_PARENT = `/berth-rt-test-${process.pid}`;

async function bounded<T>(what: string, fn: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5)); // poll interval, bounded by the deadline
  }
}

interface Ctr { id: string; bundle: string; runDir: string; logPath: string; pid: number; monitorPid: number }

async function createContainer(args: string[], extra: Partial<ContainerSpecInput> = {}, tty = false): Promise<Ctr> {
  const id = `berth-rt-test-${process.pid}-${++seq}`;
  const bundle = join(tmp, id, "bundle");
  const runDir = join(tmp, id, "run");
  const logPath = join(tmp, id, "ctr.log");
  await mkdir(bundle, { recursive: true });
  const { spec } = await prepareSpec({ id, rootfs, image: { Env: ["PATH=/bin"] }, cmd: args, tty, cgroupParent: CGROUP_PARENT, ...extra }, host);
  await writeFile(join(bundle, "config.json"), serializeSpec(spec));
  created.push({ id, runDir });
  const { pid, monitorPid } = await rt.create({ id, bundle, runDir, logPath, tty, stdin: false });
  return { id, bundle, runDir, logPath, pid, monitorPid };
}

async function waitExit(c: Ctr): Promise<number> {
  const st = await bounded("exit", () => rt.exitStatus(c.runDir, c.id));
  return st.code;
}

async function output(c: Ctr): Promise<{ stdout: string; stderr: string }> {
  const out = { stdout: "", stderr: "" };
  for await (const r of readLogs(c.logPath)) out[r.stream] += r.line.toString() + "\n";
  return out;
}

async function run(args: string[], extra: Partial<ContainerSpecInput> = {}, tty = false): Promise<{ code: number; stdout: string; stderr: string; c: Ctr }> {
  const c = await createContainer(args, extra, tty);
  await rt.start(c.id);
  const code = await waitExit(c);
  // conmon writes the exit file after draining the container's output.
  return { code, ...(await output(c)), c };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

before(async () => {
  if (skip !== false) return;
  tmp = await mkdtemp(join(tmpdir(), "berth-runtime-"));
  rootfs = join(tmp, "rootfs");
  await mkdir(join(rootfs, "bin"), { recursive: true });
  await mkdir(join(rootfs, "etc"), { recursive: true });
  await copyFile(findExecutable("busybox") as string, join(rootfs, "bin", "busybox"));
  for (const a of APPLETS) await symlink("busybox", join(rootfs, "bin", a));
  await writeFile(join(rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
  await writeFile(join(rootfs, "etc", "group"), "root:x:0:\nnogroup:x:65534:\n");
  host = await probeHost();
  rt = new ConmonRuntime({ runtimePath: findExecutable("runc") as string, conmonPath: findExecutable("conmon") as string, stateRoot: join(tmp, "runc-state") });
});

after(async () => {
  if (skip !== false) return;
  for (const c of created) {
    await rt.delete(c.id, { force: true }).catch(() => undefined);
    const monitor = Number.parseInt(await readFile(join(c.runDir, "conmon.pid"), "utf8").catch(() => ""), 10);
    if (Number.isFinite(monitor) && monitor > 0 && alive(monitor)) process.kill(monitor, "SIGKILL");
  }
  await rm(tmp, { recursive: true, force: true });
  for (const ctrl of await readdir("/sys/fs/cgroup").catch(() => [] as string[])) {
    await rmdir(join("/sys/fs/cgroup", ctrl, CGROUP_PARENT)).catch(() => undefined);
  }
});

test("only the container's own processes are visible, and it is PID 1", { skip }, async () => {
  const r = await run(["sh", "-c", "echo self=$$; ls /proc | grep -E '^[0-9]+$'"]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.equal(lines[0], "self=1");
  const pids = lines.slice(1).map(Number);
  assert.ok(pids.includes(1));
  assert.ok(pids.every((p) => p < 10), `unexpected pids: ${pids.join(",")}`);
});

test("mount is refused (EPERM) with docker's default capabilities", { skip }, async () => {
  const r = await run(["sh", "-c", "mkdir -p /mnt; mount -t tmpfs tmpfs /mnt"]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /permission denied|operation not permitted/i);
});

test("CapEff is docker's 14 default capabilities; --cap-drop ALL gives 0", { skip }, async () => {
  const r = await run(["grep", "CapEff", "/proc/self/status"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim().split(/\s+/)[1], "00000000a80425fb");
  const none = await run(["grep", "CapEff", "/proc/self/status"], { capDrop: ["ALL"] });
  assert.equal(none.stdout.trim().split(/\s+/)[1], "0000000000000000");
});

test("the exit code propagates through conmon's exit dir", { skip }, async () => {
  const r = await run(["sh", "-c", "exit 3"]);
  assert.equal(r.code, 3);
  const st = await rt.state(r.c.id);
  assert.equal(st?.status, "stopped");
});

test("stdout and stderr land separately in the k8s-file log", { skip }, async () => {
  const r = await run(["sh", "-c", "echo out1; echo err1 >&2; printf 'no-newline'"]);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, "out1\nno-newline\n");
  assert.equal(r.stderr, "err1\n");
});

test("kill with SIGTERM, pause/resume, and the monitor is daemonised", { skip }, async () => {
  const c = await createContainer(["sh", "-c", "trap 'exit 42' TERM; echo ready; while true; do sleep 0.05; done"]);
  assert.equal((await rt.state(c.id))?.status, "created");
  assert.ok(c.pid > 0 && alive(c.pid));
  assert.ok(c.monitorPid > 0 && alive(c.monitorPid));
  // conmon is not our child: its parent is not this process.
  const ppid = Number(/PPid:\s*(\d+)/.exec(await readFile(`/proc/${c.monitorPid}/status`, "utf8"))?.[1]);
  assert.notEqual(ppid, process.pid);
  await rt.start(c.id);
  assert.equal((await rt.state(c.id))?.status, "running");
  assert.ok((await stat(rt.attachSocketPath(c.runDir))).isSocket(), "conmon's attach socket is where attachSocketPath says");
  await bounded("ready", async () => ((await output(c)).stdout.includes("ready") ? true : undefined));
  await rt.pause(c.id);
  assert.equal((await rt.state(c.id))?.status, "paused");
  await rt.resume(c.id);
  assert.equal((await rt.state(c.id))?.status, "running");
  await rt.kill(c.id, "TERM");
  assert.equal(await waitExit(c), 42);
});

test("exec runs in the container and reports its exit code", { skip }, async () => {
  const c = await createContainer(["sleep", "30"]);
  await rt.start(c.id);
  const proc: OciProcess = { args: ["sh", "-c", "echo exec-out; ls /proc | grep -c -E '^[0-9]+$'; exit 5"], env: ["PATH=/bin"], cwd: "/", user: { uid: 0, gid: 0 } };
  const sessionDir = join(tmp, c.id, "exec1");
  const s = await rt.exec({ id: c.id, sessionId: "exec1", sessionDir, process: proc, logPath: join(sessionDir, "log"), tty: false, stdin: false });
  assert.ok(s.pid > 0);
  assert.equal(await s.wait(), 5);
  const lines: string[] = [];
  for await (const r of readLogs(join(sessionDir, "log"))) lines.push(r.line.toString());
  assert.equal(lines[0], "exec-out");
  await rt.kill(c.id, "KILL");
  assert.equal(await waitExit(c), 137);
});

test("delete leaves no runtime state and no process", { skip }, async () => {
  const c = await createContainer(["sleep", "30"]);
  await rt.start(c.id);
  await rt.delete(c.id, { force: true });
  assert.equal(await rt.state(c.id), undefined);
  await bounded("container gone", async () => (alive(c.pid) ? undefined : true));
  await bounded("monitor gone", async () => (alive(c.monitorPid) ? undefined : true));
  const left: string[] = await readdir(join(tmp, "runc-state")).catch(() => []);
  assert.ok(!left.includes(c.id));
});

test("runtime errors are reported with runc's message", { skip }, async () => {
  await assert.rejects(createContainer(["/does-not-exist"]).then((c) => rt.start(c.id)), (err: Error) => /does-not-exist|no such file/i.test(err.message));
});

test("the default seccomp profile blocks unshare; unconfined allows it", { skip }, async () => {
  const blocked = await run(["unshare", "-U", "true"]);
  assert.notEqual(blocked.code, 0);
  assert.match(blocked.stderr, /operation not permitted/i);
  const allowed = await run(["unshare", "-U", "true"], { seccomp: "unconfined" });
  assert.equal(allowed.code, 0, allowed.stderr);
});

test("user, hostname, read-only rootfs, nofile limit, memory limit as docker sets them", { skip }, async () => {
  const u = await run(["sh", "-c", "id -u; id -g; echo $HOME"], { user: "nobody" });
  assert.equal(u.stdout, "65534\n65534\n/nonexistent\n");
  const h = await run(["hostname"], { hostname: "berth-host" });
  assert.equal(h.stdout, "berth-host\n");
  const ro = await run(["touch", "/x"], { readOnly: true });
  assert.notEqual(ro.code, 0);
  assert.match(ro.stderr, /read-only file system/i);
  const n = await run(["sh", "-c", "ulimit -n"]);
  assert.equal(Number(n.stdout.trim()), Math.min(1048576, host.nofileHardLimit));
  if (host.cgroupVersion !== 2) {
    const m = await run(["cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"], { memory: 64 * 1024 * 1024 });
    assert.equal(m.stdout.trim(), String(64 * 1024 * 1024));
  }
});

test("--init makes tini PID 1 and reaps; the command is its child", { skip: skip || (!existsSync("/usr/bin/tini-static") && "needs tini-static") }, async () => {
  const r = await run(["sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo; echo pid=$$"], { init: true });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\/sbin\/docker-init -- sh/);
  assert.match(r.stdout, /pid=(?!1\n)\d+/);
});

test("a terminal container runs with a tty and logs its output", { skip }, async () => {
  const r = await run(["sh", "-c", "tty; echo $TERM"], {}, true);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /\/dev\/pts\/0/);
  assert.match(r.stdout, /xterm/);
});

test("create honours an abort signal", { skip }, async () => {
  const ac = new AbortController();
  ac.abort();
  const id = `berth-rt-test-${process.pid}-abort`;
  await assert.rejects(rt.create({ id, bundle: join(tmp, "nope"), runDir: join(tmp, id), logPath: join(tmp, id, "log"), tty: false, stdin: false, signal: ac.signal }), (e: Error) => kindOf(e) === "cancelled");
  assert.equal(await rt.state(id), undefined);
});

test("errors are classified: unknown id is not-found, exec in a stopped container is conflict", { skip }, async () => {
  assert.equal(await rt.state("berth-no-such-container"), undefined);
  await assert.rejects(rt.kill("berth-no-such-container", "TERM"), (e: Error) => kindOf(e) === "not-found");
  await assert.rejects(rt.start("berth-no-such-container"), (e: Error) => kindOf(e) === "not-found");
  await assert.doesNotReject(rt.delete("berth-no-such-container"));
  const r = await run(["true"]);
  const sessionDir = join(tmp, r.c.id, "exec-stopped");
  const proc: OciProcess = { args: ["true"], env: ["PATH=/bin"], cwd: "/", user: { uid: 0, gid: 0 } };
  await assert.rejects(
    rt.exec({ id: r.c.id, sessionId: "x", sessionDir, process: proc, logPath: join(sessionDir, "log"), tty: false, stdin: false }),
    (e: Error) => kindOf(e) === "conflict",
  );
});

test("measure create+start+wait of true", { skip }, async () => {
  const times: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    const r = await run(["true"]);
    times.push(performance.now() - t0);
    assert.equal(r.code, 0);
    await rt.delete(r.c.id);
  }
  times.sort((a, b) => a - b);
  console.log(`create+start+wait(true): median ${times[5]?.toFixed(1)} ms, min ${times[0]?.toFixed(1)} ms, max ${times[9]?.toFixed(1)} ms`);
});
