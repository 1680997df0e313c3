/**
 * The runtime driver end to end: a busybox rootfs, a spec built with Docker's
 * defaults, conmon + runc. Proves isolation, capabilities, exit codes, logs,
 * signals, pause/resume, exec and cleanup.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { copyFile, mkdir, mkdtemp, readdir, rm, symlink, writeFile, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requires, findExecutable } from "../../../src/testing/requires.ts";
import { ConmonRuntime } from "../../../src/runtime/conmon-runtime.ts";
import { prepareSpec, probeHost, serializeSpec, type ContainerSpecInput, type HostFacts } from "../../../src/runtime/spec.ts";
import { readLogs } from "../../../src/runtime/logs.ts";
import type { OciProcess } from "../../../src/runtime/oci-spec.ts";

const skip = requires("root", "runc", "conmon", "busybox");
const APPLETS = ["sh", "ps", "mount", "cat", "true", "sleep", "ls", "id", "echo", "grep", "kill"];

let tmp = "";
let rootfs = "";
let host: HostFacts;
let rt: ConmonRuntime;
const created: { id: string; runDir: string }[] = [];
let seq = 0;

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

async function createContainer(args: string[], extra: Partial<ContainerSpecInput> = {}): Promise<Ctr> {
  const id = `berth-rt-test-${process.pid}-${++seq}`;
  const bundle = join(tmp, id, "bundle");
  const runDir = join(tmp, id, "run");
  const logPath = join(tmp, id, "ctr.log");
  await mkdir(bundle, { recursive: true });
  const { spec } = await prepareSpec({ id, rootfs, image: { Env: ["PATH=/bin"] }, cmd: args, ...extra }, host);
  await writeFile(join(bundle, "config.json"), serializeSpec(spec));
  created.push({ id, runDir });
  const { pid, monitorPid } = await rt.create({ id, bundle, runDir, logPath, tty: false, stdin: false });
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

async function run(args: string[], extra: Partial<ContainerSpecInput> = {}): Promise<{ code: number; stdout: string; stderr: string; c: Ctr }> {
  const c = await createContainer(args, extra);
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
