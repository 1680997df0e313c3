/**
 * Issue 3 through the real berth command, against runc, conmon and overlayfs:
 * isolation, Docker's run semantics, every lifecycle verb, exit codes, and
 * nothing left behind.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { berthSandbox, type BerthSandbox } from "../../../src/testing/cli.ts";
import { makeBusyboxTar } from "../../../src/testing/busybox.ts";
import { requires } from "../../../src/testing/requires.ts";

const skip = requires("root", "runc", "conmon", "overlay", "busybox");

function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m.startsWith(dir));
}

function conmonsFor(root: string): string[] {
  const out = execFileSync("ps", ["-eo", "pid,args"], { encoding: "utf8" });
  return out.split("\n").filter((l) => l.includes("conmon") && l.includes(root));
}

/** Polls `check` until it returns true, up to `ms`. */
async function until(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("containers", { skip }, () => {
  let b: BerthSandbox;
  let work: string;
  const run = (...args: string[]) => b.run(["run", "--network", "none", ...args]);

  before(async () => {
    b = berthSandbox();
    work = mkdtempSync(join(tmpdir(), "berth-ctr-"));
    makeBusyboxTar(work, join(work, "bb.tar"));
    const r = await b.run(["import", "-c", 'CMD ["sh"]', "-c", "ENV FROM_IMAGE=yes", join(work, "bb.tar"), "busybox"]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    if (b !== undefined) {
      const ids = (await b.run(["ps", "-aq", "--no-trunc"])).stdout.split("\n").filter((x) => x !== "");
      if (ids.length > 0) await b.run(["rm", "-f", ...ids]);
      assert.deepEqual(mountsUnder(b.root), [], "no mount left under the berth root");
      await until(() => conmonsFor(b.root).length === 0);
      b.cleanup();
    }
    rmSync(work, { recursive: true, force: true });
  });

  test("the container's exit code, stdout and stderr come back separately", async () => {
    const r = await run("--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3");
    assert.equal(r.code, 3);
    assert.equal(r.stdout, "out\n");
    assert.equal(r.stderr, "err\n");
  });

  test("isolation: own PID namespace with the command as PID 1, no mount, docker's capabilities", async () => {
    const pid = await run("--rm", "busybox", "sh", "-c", "echo $$; ls /proc | grep -c '^[0-9]'");
    const [self, count] = pid.stdout.trim().split("\n");
    assert.equal(self, "1");
    assert.ok(Number(count) <= 3, `sees only its own processes, saw ${count}`);
    const mount = await run("--rm", "busybox", "mount", "-t", "tmpfs", "none", "/mnt");
    assert.notEqual(mount.code, 0);
    const caps = await run("--rm", "busybox", "sh", "-c", "grep CapEff /proc/self/status");
    assert.match(caps.stdout, /CapEff:\s+00000000a80425fb/);
    const none = await run("--rm", "--cap-drop", "ALL", "busybox", "sh", "-c", "grep CapEff /proc/self/status");
    assert.match(none.stdout, /CapEff:\s+0000000000000000/);
    const added = await run("--rm", "--cap-add", "NET_ADMIN", "busybox", "sh", "-c", "grep CapEff /proc/self/status");
    assert.match(added.stdout, /CapEff:\s+00000000a80435fb/);
  });

  test("docker's run semantics: env, user, workdir, hostname, entrypoint and command", async () => {
    const envFile = join(work, "env");
    writeFileSync(envFile, "# comment\nFROM_FILE=1\n");
    const env = await run("--rm", "-e", "A=1", "--env-file", envFile, "busybox", "sh", "-c", 'echo "$A $FROM_FILE $FROM_IMAGE $HOSTNAME"');
    assert.match(env.stdout, /^1 1 yes [0-9a-f]{12}\n$/);
    const user = await run("--rm", "-u", "www", "busybox", "id");
    assert.match(user.stdout, /uid=33\(www\) gid=33\(www\) groups=50\(staff\)/);
    const numeric = await run("--rm", "-u", "1234:5678", "busybox", "id", "-u");
    assert.equal(numeric.stdout.trim(), "1234");
    const unknownUser = await run("--rm", "-u", "nobody-here", "busybox", "true");
    assert.equal(unknownUser.code, 125);
    assert.match(unknownUser.stderr, /unable to find user nobody-here/);
    const wd = await run("--rm", "-w", "/srv/app", "busybox", "pwd");
    assert.equal(wd.stdout, "/srv/app\n");
    const host = await run("--rm", "--hostname", "box", "busybox", "hostname");
    assert.equal(host.stdout, "box\n");
    const ep = await run("--rm", "--entrypoint", "echo", "busybox", "a", "b");
    assert.equal(ep.stdout, "a b\n");
    const cmd = await run("--rm", "busybox");
    assert.equal(cmd.code, 0, "the image's CMD sh runs and exits at EOF");
  });

  test("exit codes: 125 engine error, 126 cannot invoke, 127 not found", async () => {
    const missing = await run("--rm", "--pull", "never", "no-such-image");
    assert.equal(missing.code, 125);
    assert.match(missing.stderr, /No such image: no-such-image:latest/);
    const badFlag = await b.run(["run", "--bogus", "busybox"]);
    assert.equal(badFlag.code, 125);
    const notExec = await run("--rm", "busybox", "/etc/passwd");
    assert.equal(notExec.code, 126, notExec.stderr);
    const notFound = await run("--rm", "busybox", "nonexistent-cmd");
    assert.equal(notFound.code, 127);
    assert.match(notFound.stderr, /executable file not found in \$PATH/);
    assert.equal((await b.run(["ps", "-aq"])).stdout, "", "a failed run --rm leaves no container");
  });

  test("detached containers survive the CLI; ps, logs, stop, start, restart, kill, pause, rename, wait, rm", async () => {
    const d = await run("-d", "--name", "ticker", "busybox", "sh", "-c", "trap 'exit 7' TERM; echo started; echo warn >&2; while true; do sleep 0.1; done");
    assert.equal(d.code, 0, d.stderr);
    const id = d.stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    const ps = await b.run(["ps"]);
    assert.match(ps.stdout, /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES\n/);
    assert.match(ps.stdout, new RegExp(`${id.slice(0, 12)}\\s+busybox\\s+"sh -c .*Up .*ticker`));
    const pidOf = await b.run(["inspect", "-f", "{{.State.Pid}} {{.State.Status}}", "ticker"]);
    const [pid, status] = pidOf.stdout.trim().split(" ");
    assert.equal(status, "running");
    const ppid = readFileSync(`/proc/${pid}/status`, "utf8").match(/PPid:\s+(\d+)/)?.[1];
    assert.ok(readFileSync(`/proc/${ppid}/cmdline`, "utf8").startsWith("/usr/bin/conmon"), "conmon, not a berth process, is its parent");
    await until(async () => (await b.run(["logs", "ticker"])).stdout === "started\n");
    const logs = await b.run(["logs", "ticker"]);
    assert.equal(logs.stderr, "warn\n");
    const tail = await b.run(["logs", "-t", "--tail", "1", "ticker"]);
    assert.equal(tail.stdout, "");
    assert.match(tail.stderr, /^\d{4}-\d\d-\d\dT[\d:.]+Z warn\n$/);

    const paused = await b.run(["pause", "ticker"]);
    assert.equal(paused.stdout, "ticker\n");
    assert.equal((await b.run(["inspect", "-f", "{{.State.Status}}", "ticker"])).stdout.trim(), "paused");
    assert.equal((await b.run(["unpause", "ticker"])).code, 0);

    const stop = await b.run(["stop", "ticker"]);
    assert.equal(stop.stdout, "ticker\n");
    assert.equal((await b.run(["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "ticker"])).stdout.trim(), "exited 7");
    assert.match((await b.run(["ps", "-a", "--filter", "status=exited", "--format", "{{.Names}} {{.Status}}"])).stdout, /ticker Exited \(7\)/);

    assert.equal((await b.run(["start", "ticker"])).stdout, "ticker\n");
    assert.equal((await b.run(["inspect", "-f", "{{.State.Running}}", "ticker"])).stdout.trim(), "true");
    assert.equal((await b.run(["restart", "-t", "5", "ticker"])).code, 0);
    assert.equal((await b.run(["rename", "ticker", "ticker2"])).code, 0);
    const waiter = b.run(["wait", "ticker2"]);
    const killed = await b.run(["kill", "-s", "TERM", "ticker2"]);
    assert.equal(killed.code, 0, killed.stderr);
    assert.equal((await waiter).stdout, "7\n");

    const rmRunning = await run("-d", "--name", "busy", "busybox", "sleep", "1000");
    assert.equal(rmRunning.code, 0);
    const refused = await b.run(["rm", "busy"]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /container is running: stop the container before removing or force remove/);
    assert.equal((await b.run(["rm", "-f", "busy", "ticker2"])).stdout, "busy\nticker2\n");
    assert.equal((await b.run(["ps", "-aq"])).stdout, "");
  });

  test("logs -f follows until the container exits; --since and --until select by time", async () => {
    const d = await run("-d", "--name", "follow", "busybox", "sh", "-c", "echo one; sleep 1; echo two; echo three >&2");
    assert.equal(d.code, 0, d.stderr);
    const f = await b.run(["logs", "-f", "follow"]);
    assert.equal(f.code, 0, f.stderr);
    assert.equal(f.stdout, "one\ntwo\n");
    assert.equal(f.stderr, "three\n");
    assert.equal((await b.run(["logs", "--since", "2000-01-01T00:00:00Z", "follow"])).stdout, "one\ntwo\n");
    assert.equal((await b.run(["logs", "--until", "2000-01-01T00:00:00Z", "follow"])).stdout, "");
    assert.equal((await b.run(["logs", "--since", "1h", "follow"])).stdout, "one\ntwo\n");
    assert.equal((await b.run(["rm", "follow"])).code, 0);
  });

  test("a foreground run passes SIGTERM and SIGINT on to the container", async () => {
    const { spawn } = await import("node:child_process");
    const { BERTH_ENTRY } = await import("../../../src/testing/cli.ts");
    for (const [sig, code] of [["SIGTERM", 42], ["SIGINT", 43]] as const) {
      const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", BERTH_ENTRY, "run", "--rm", "--network", "none", "busybox", "sh", "-c", "trap 'exit 42' TERM; trap 'exit 43' INT; echo ready; while true; do sleep 0.1; done"], { env: b.env, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (c: Buffer) => (out += c.toString()));
      await until(() => out.includes("ready"));
      child.kill(sig);
      const exit = await new Promise<number | null>((r) => child.on("close", (c) => r(c)));
      assert.equal(exit, code, `${sig} reached the container's trap`);
    }
  });

  test("--rm and rm leave no mount, bundle, log or conmon behind", async () => {
    const before = new Set(readdirSync(join(b.root, "containers")));
    const r = await run("--rm", "--name", "gone", "busybox", "true");
    assert.equal(r.code, 0, r.stderr);
    await until(() => readdirSync(join(b.root, "containers")).every((d) => before.has(d)));
    assert.deepEqual(mountsUnder(b.root), []);
    await until(() => conmonsFor(b.root).length === 0);
    const d = await run("-d", "--rm", "busybox", "sh", "-c", "exit 0");
    assert.equal(d.code, 0);
    await until(async () => (await b.run(["ps", "-aq"])).stdout === "");
    await until(() => readdirSync(join(b.root, "containers")).every((x) => before.has(x)));
  });

  test("many containers from one image each cost only their own writes", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const c = await b.run(["create", "--network", "none", "busybox", "sh", "-c", `echo ${i} > /own; cat /own`]);
      assert.equal(c.code, 0, c.stderr);
      ids.push(c.stdout.trim());
    }
    for (const [i, id] of ids.entries()) {
      assert.equal((await b.run(["start", "-a", id])).stdout, `${i}\n`);
    }
    // -x: the container's own files, not the image layers seen through a still-mounted rootfs
    const du = execFileSync("du", ["-skx", ...ids.map((id) => join(b.root, "containers", id))], { encoding: "utf8" });
    for (const line of du.trim().split("\n")) assert.ok(Number(line.split("\t")[0]) < 100, `container dir under 100 KiB: ${line}`);
    const inspect = JSON.parse((await b.run(["image", "inspect", "busybox"])).stdout) as { Containers: { Id: string }[] }[];
    assert.deepEqual(new Set(inspect[0]!.Containers.map((c) => c.Id)), new Set(ids));
    const anc = await b.run(["ps", "-aq", "--no-trunc", "--filter", "ancestor=busybox"]);
    assert.deepEqual(new Set(anc.stdout.trim().split("\n")), new Set(ids));
    const refused = await b.run(["rmi", "busybox"]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /must force/);
    assert.equal((await b.run(["rm", ...ids])).code, 0);
  });

  test("security and resource options reach the container", async () => {
    const ro = await run("--rm", "--read-only", "busybox", "touch", "/x");
    assert.notEqual(ro.code, 0);
    assert.match(ro.stderr, /Read-only file system/);
    const nnp = await run("--rm", "--security-opt", "no-new-privileges", "busybox", "grep", "NoNewPrivs", "/proc/self/status");
    assert.match(nnp.stdout, /NoNewPrivs:\s+1/);
    const priv = await run("--rm", "--privileged", "busybox", "grep", "CapEff", "/proc/self/status");
    const bounding = /CapBnd:\s+([0-9a-f]+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    assert.match(priv.stdout, new RegExp(`CapEff:\\s+${bounding}`), "privileged: every capability berth may grant");
    const ulimit = await run("--rm", "--ulimit", "nofile=1024:2048", "busybox", "sh", "-c", "ulimit -n; ulimit -Hn");
    assert.equal(ulimit.stdout, "1024\n2048\n");
    const shm = await run("--rm", "--shm-size", "8m", "busybox", "df", "-k", "/dev/shm");
    assert.match(shm.stdout, /\b8192\b/);
    const init = await run("--rm", "--init", "busybox", "cat", "/proc/1/cmdline");
    assert.match(init.stdout, /^\/sbin\/docker-init\x00--\x00cat/, "tini runs as PID 1 under docker's name");
    const pids = await run("--rm", "--pids-limit", "20", "busybox", "sh", "-c", "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max");
    assert.equal(pids.stdout.trim(), "20");
    const mem = await run("--rm", "-m", "64m", "busybox", "sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max");
    assert.equal(mem.stdout.trim(), String(64 * 1024 * 1024));
    const labelled = await run("-d", "--name", "lab", "-l", "team=core", "--stop-signal", "SIGUSR1", "--stop-timeout", "3", "busybox", "sleep", "100");
    assert.equal(labelled.code, 0, labelled.stderr);
    const cfg = await b.run(["inspect", "-f", "{{.Config.Labels.team}} {{.Config.StopSignal}} {{.Config.StopTimeout}}", "lab"]);
    assert.equal(cfg.stdout.trim(), "core SIGUSR1 3");
    assert.equal((await b.run(["ps", "-q", "--filter", "label=team=core"])).stdout.trim(), labelled.stdout.trim().slice(0, 12));
    assert.equal((await b.run(["rm", "-f", "lab"])).code, 0);
  });

  test("ps -s and inspect -s report the writable layer's size", async () => {
    const d = await run("-d", "--name", "sized", "busybox", "sh", "-c", "dd if=/dev/zero of=/big bs=1k count=200 2>/dev/null; echo written; sleep 100");
    assert.equal(d.code, 0, d.stderr);
    await until(async () => (await b.run(["logs", "sized"])).stdout === "written\n");
    const ps = await b.run(["ps", "-s", "--format", "{{.Names}} {{.Size}}"]);
    assert.match(ps.stdout, /^sized 2\d\dkB \(virtual \d+(\.\d+)?MB\)\n$/);
    const i = await b.run(["inspect", "-s", "-f", "{{.SizeRw}} {{.SizeRootFs}}", "sized"]);
    const [rw, rootfs] = i.stdout.trim().split(" ").map(Number);
    assert.ok(rw! >= 200 * 1024 && rw! < 300 * 1024, `SizeRw ${rw}`);
    assert.ok(rootfs! > rw! + 1_000_000, `SizeRootFs ${rootfs} includes the image`);
    assert.equal((await b.run(["rm", "-f", "sized"])).code, 0);
  });

  test("the default bridge network gives the container an address and a hostname file", async () => {
    const r = await b.run(["run", "--rm", "busybox", "sh", "-c", "ip -4 addr show eth0 | grep -o 'inet [0-9.]*'; cat /etc/hostname"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^inet \d+\.\d+\.\d+\.\d+\n[0-9a-f]{12}\n$/);
    const netnsDir = join(b.runRoot, "network", "netns");
    await until(() => !existsSync(netnsDir) || readdirSync(netnsDir).length === 0);
  });
});
