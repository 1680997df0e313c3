/**
 * Container files and introspection through the real berth command: cp both
 * ways (running and stopped containers, docker's path rules, symlinks in the
 * container that must never reach the host), diff, commit, export, top,
 * stats and container prune.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
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

describe("container files", { skip }, () => {
  let b: BerthSandbox;
  let work: string;
  let sentinel: string;
  const SENTINEL_TEXT = "HOST SECRET\n";
  const ok = async (args: string[], o: { input?: Uint8Array | string } = {}) => {
    const r = await b.run(args, o);
    assert.equal(r.code, 0, `berth ${args.join(" ")}: ${r.stderr}`);
    return r;
  };

  before(async () => {
    b = berthSandbox();
    work = mkdtempSync(join(tmpdir(), "berth-files-"));
    makeBusyboxTar(work, join(work, "bb.tar"));
    await ok(["import", "-c", 'CMD ["sh"]', join(work, "bb.tar"), "busybox"]);
    sentinel = join(work, "sentinel");
    writeFileSync(sentinel, SENTINEL_TEXT);
  });
  after(async () => {
    if (b !== undefined) {
      const ids = (await b.run(["ps", "-aq", "--no-trunc"])).stdout.split("\n").filter((x) => x !== "");
      if (ids.length > 0) await b.run(["rm", "-f", ...ids]);
      assert.deepEqual(mountsUnder(b.root), [], "no mount left under the berth root");
      b.cleanup();
    }
    rmSync(work, { recursive: true, force: true });
  });

  test("cp into and out of a stopped container follows docker's rules and leaves it unmounted", async () => {
    await ok(["create", "--name", "stopped", "--network", "none", "busybox", "true"]);
    const src = join(work, "src1");
    mkdirSync(join(src, "sub"), { recursive: true });
    writeFileSync(join(src, "a.txt"), "A\n");
    writeFileSync(join(src, "sub", "b.txt"), "B\n");
    await ok(["cp", join(src, "a.txt"), "stopped:/tmp/"]); // into a directory: keeps the name
    await ok(["cp", join(src, "a.txt"), "stopped:/tmp/renamed.txt"]); // missing dest: that name
    await ok(["cp", src, "stopped:/tmp/copy"]); // dir to missing dest: created with the content
    await ok(["cp", src, "stopped:/tmp"]); // dir into a dir: under its own name
    await ok(["cp", `${src}/.`, "stopped:/opt"]); // "/." to a missing dest: created with the content
    await ok(["cp", `${src}/.`, "stopped:/tmp"]); // "/." into an existing dir: only the content
    const bad = await b.run(["cp", join(src, "a.txt"), "stopped:/nonexistent/dir/"]);
    assert.notEqual(bad.code, 0);
    const slash = await b.run(["cp", `${join(src, "a.txt")}/`, "stopped:/tmp"]);
    assert.notEqual(slash.code, 0, "a trailing slash on a file is an error");
    assert.match(slash.stderr, /not a directory/);
    const dirOnFile = await b.run(["cp", src, "stopped:/tmp/a.txt"]);
    assert.notEqual(dirOnFile.code, 0);

    const out = join(work, "out1");
    mkdirSync(out);
    await ok(["cp", "stopped:/tmp/a.txt", join(out, "a")]);
    await ok(["cp", "stopped:/tmp/renamed.txt", out]);
    await ok(["cp", "stopped:/tmp/copy", join(out, "copy")]);
    await ok(["cp", "stopped:/opt/.", join(out, "opt")]);
    await ok(["cp", "stopped:/tmp/src1", out]);
    assert.equal(readFileSync(join(out, "a"), "utf8"), "A\n");
    assert.equal(readFileSync(join(out, "renamed.txt"), "utf8"), "A\n");
    assert.equal(readFileSync(join(out, "copy", "sub", "b.txt"), "utf8"), "B\n");
    assert.equal(readFileSync(join(out, "opt", "sub", "b.txt"), "utf8"), "B\n");
    assert.equal(readFileSync(join(out, "src1", "a.txt"), "utf8"), "A\n");
    await ok(["cp", "stopped:/tmp/sub/b.txt", join(out, "b-from-content")]);
    assert.equal(readFileSync(join(out, "b-from-content"), "utf8"), "B\n");
    const rootLeak = await b.run(["cp", "stopped:/a.txt", join(out, "leak")]);
    assert.notEqual(rootLeak.code, 0, "nothing landed in the container's /");
    const missing = await b.run(["cp", "stopped:/nope", out]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Could not find the file \/nope in container stopped/);
    assert.deepEqual(mountsUnder(b.root), [], "the stopped container's rootfs is unmounted again");
    // The container still starts and sees the files.
    await ok(["start", "stopped"]);
    const r = await ok(["run", "--rm", "--network", "none", "busybox", "true"]);
    assert.equal(r.stdout, "");
  });

  test("cp ownership: root inside by default, kept with -a", async () => {
    await ok(["create", "--name", "owners", "--network", "none", "busybox", "true"]);
    const f = join(work, "owned.txt");
    writeFileSync(f, "o\n");
    execFileSync("chown", ["1234:5678", f]);
    await ok(["cp", f, "owners:/tmp/default.txt"]);
    await ok(["cp", "-a", f, "owners:/tmp/kept.txt"]);
    const out = join(work, "owners-out");
    mkdirSync(out);
    await ok(["cp", "-a", "owners:/tmp/default.txt", out]);
    await ok(["cp", "-a", "owners:/tmp/kept.txt", out]);
    assert.equal(statSync(join(out, "default.txt")).uid, 0);
    assert.equal(statSync(join(out, "kept.txt")).uid, 1234);
    assert.equal(statSync(join(out, "kept.txt")).gid, 5678);
  });

  test("cp with a running container, and tar streams with -", async () => {
    await ok(["run", "-d", "--name", "live", "--network", "none", "busybox", "sleep", "300"]);
    writeFileSync(join(work, "live.txt"), "live\n");
    await ok(["cp", join(work, "live.txt"), "live:/live.txt"]);
    const tar = await b.run(["cp", "live:/live.txt", "-"]);
    assert.equal(tar.code, 0, tar.stderr);
    const tarFile = join(work, "live.tar");
    writeFileSync(tarFile, tar.stdout, "latin1");
    assert.deepEqual(execFileSync("tar", ["-tf", tarFile], { encoding: "utf8" }).trim().split("\n"), ["live.txt"]);
    // A tar on stdin goes into an existing directory.
    const src = join(work, "fromtar");
    mkdirSync(src);
    writeFileSync(join(src, "t.txt"), "T\n");
    const input = execFileSync("tar", ["-C", src, "-cf", "-", "t.txt"]);
    await ok(["cp", "-", "live:/tmp"], { input });
    const back = join(work, "t-back.txt");
    await ok(["cp", "live:/tmp/t.txt", back]);
    assert.equal(readFileSync(back, "utf8"), "T\n");
  });

  for (const state of ["stopped", "running"] as const) {
    test(`symlinks in a ${state} container never lead to the host`, async () => {
      const name = `evil-${state}`;
      const script = [
        "ln -s / /esc",
        "ln -s ../../../../../../../../.. /up",
        `ln -s ${work} /hostdir`,
        `ln -s ${sentinel} /hostfile`,
        state === "running" ? "exec sleep 300" : "true",
      ].join("; ");
      await ok(["run", ...(state === "running" ? ["-d"] : []), "--name", name, "--network", "none", "busybox", "sh", "-c", script]);
      if (state === "running") {
        const deadline = Date.now() + 10_000;
        for (;;) {
          const r = await b.run(["cp", `${name}:/hostfile`, join(work, `probe-${state}`)]);
          if (r.code === 0) break;
          assert.ok(Date.now() < deadline, `symlinks not made: ${r.stderr}`);
          await new Promise((r) => setTimeout(r, 50));
        }
        rmSync(join(work, `probe-${state}`), { force: true });
      }
      const rel = sentinel.slice(1);
      const readAttempts = [`/esc/${rel}`, `/up/${rel}`, `/hostdir/sentinel`];
      for (const p of readAttempts) {
        const out = join(work, `read-${state}-${readAttempts.indexOf(p)}`);
        const r = await b.run(["cp", `${name}:${p}`, out]);
        assert.notEqual(r.code, 0, `reading ${p} must fail`);
        assert.equal(existsSync(out), false, `nothing was read through ${p}`);
        const stream = await b.run(["cp", `${name}:${p}`, "-"]);
        assert.ok(!stream.stdout.includes("HOST SECRET"), `${p} streamed the host file`);
      }
      // -L on a link to a host path resolves inside the container: nothing there.
      const followed = await b.run(["cp", "-L", `${name}:/hostfile`, join(work, `followed-${state}`)]);
      assert.notEqual(followed.code, 0);
      assert.equal(existsSync(join(work, `followed-${state}`)), false);
      // Without -L the link itself is copied.
      await ok(["cp", `${name}:/hostfile`, join(work, `link-${state}`)]);
      assert.ok(lstatSync(join(work, `link-${state}`)).isSymbolicLink());
      assert.equal(readlinkSync(join(work, `link-${state}`)), sentinel);
      rmSync(join(work, `link-${state}`));

      const evil = join(work, "evil.txt");
      writeFileSync(evil, "OVERWRITTEN\n");
      for (const p of [`/esc/${rel}`, `/up/${rel}`, "/hostdir/sentinel", "/hostfile", "/hostdir/"]) {
        await b.run(["cp", evil, `${name}:${p}`]);
        const input = execFileSync("tar", ["-C", work, "-cf", "-", "evil.txt"]);
        await b.run(["cp", "-", `${name}:${p}`], { input });
      }
      assert.equal(readFileSync(sentinel, "utf8"), SENTINEL_TEXT, "the host sentinel is untouched");
      assert.equal(existsSync(join(work, "hostdir")), false);
      // What was written through /hostfile landed inside the container.
      const inside = join(work, `inside-${state}`);
      await ok(["cp", "-L", `${name}:/hostfile`, inside]);
      assert.equal(readFileSync(inside, "utf8"), "OVERWRITTEN\n");
    });
  }

  test("diff lists changes like docker (parents as C, whiteouts as D)", async () => {
    await ok(["run", "--name", "changed", "--network", "none", "busybox", "sh", "-c", "echo x > /etc/passwd; rm /bin/ls; mkdir /new; touch /new/f"]);
    const r = await ok(["diff", "changed"]);
    assert.equal(r.stdout, "C /bin\nD /bin/ls\nC /etc\nC /etc/passwd\nA /new\nA /new/f\n");
    const same = await ok(["container", "diff", "changed"]);
    assert.equal(same.stdout, r.stdout);
  });

  test("commit makes an image that sees the change; --change CMD, -m, -a", async () => {
    await ok(["run", "--name", "tocommit", "--network", "none", "busybox", "sh", "-c", "echo committed > /hello.txt; rm /bin/ls"]);
    const c = await ok(["commit", "-a", "Jane <j@example.com>", "-m", "my message", "tocommit", "committed:1"]);
    assert.match(c.stdout.trim(), /^sha256:[a-f0-9]{64}$/);
    const r = await ok(["run", "--rm", "--network", "none", "committed:1", "sh", "-c", "cat /hello.txt; test -e /bin/ls && echo ls-present || echo ls-gone"]);
    assert.equal(r.stdout, "committed\nls-gone\n");
    // The committed layer holds the change, not runc's placeholders for the bind-mounted /etc files.
    const manifestDigest = (await ok(["image", "inspect", "--format", "{{.Descriptor.digest}}", "committed:1"])).stdout.trim();
    const manifest = JSON.parse(readFileSync(join(b.root, "blobs", "sha256", manifestDigest.slice(7)), "utf8")) as { layers: { digest: string }[] };
    const top = join(b.root, "blobs", "sha256", manifest.layers.at(-1)!.digest.slice(7));
    const entries = execFileSync("tar", ["-tzf", top], { encoding: "utf8" }).split("\n").filter((x) => x !== "");
    assert.ok(entries.includes("hello.txt"), entries.join(","));
    assert.ok(entries.includes("bin/.wh.ls"), entries.join(","));
    for (const placeholder of ["etc/hosts", "etc/hostname", "etc/resolv.conf"]) assert.ok(!entries.includes(placeholder), `${placeholder} is not committed`);
    const h = await ok(["history", "--no-trunc", "--format", "{{.Comment}}", "committed:1"]);
    assert.equal(h.stdout.split("\n")[0], "my message");
    const i = await ok(["image", "inspect", "--format", "{{.Author}} {{json .Config.Cmd}}", "committed:1"]);
    assert.equal(i.stdout.trim(), 'Jane <j@example.com> ["sh","-c","echo committed > /hello.txt; rm /bin/ls"]');

    await ok(["commit", "--change", 'CMD ["cat", "/hello.txt"]', "--change", "ENV GREETING=hi", "tocommit", "committed:2"]);
    const run2 = await ok(["run", "--rm", "--network", "none", "committed:2"]);
    assert.equal(run2.stdout, "committed\n");
    const env = await ok(["run", "--rm", "--network", "none", "committed:2", "sh", "-c", "echo $GREETING"]);
    assert.equal(env.stdout, "hi\n");
  });

  test("commit pauses a running container and resumes it", async () => {
    await ok(["run", "-d", "--name", "busy", "--network", "none", "busybox", "sh", "-c", "echo a > /a; exec sleep 300"]);
    await ok(["commit", "busy", "busy:snap"]);
    const st = await ok(["inspect", "--format", "{{.State.Status}}", "busy"]);
    assert.equal(st.stdout.trim(), "running");
  });

  test("export writes the flattened filesystem as a tar", async () => {
    await ok(["run", "--name", "exp", "--network", "none", "busybox", "sh", "-c", "echo e > /exported.txt; rm /bin/ls"]);
    const file = join(work, "exp.tar");
    await ok(["export", "-o", file, "exp"]);
    const names = execFileSync("tar", ["-tf", file], { encoding: "utf8" }).split("\n");
    assert.ok(names.includes("exported.txt"));
    assert.ok(names.includes("bin/busybox") || names.includes("bin/sh"));
    assert.ok(!names.includes("bin/ls"), "deleted files are not exported");
    assert.ok(!names.some((n) => n.includes(".wh.")), "no whiteouts");
    assert.deepEqual(mountsUnder(b.root).filter((m) => m.includes("exp")), []);
  });

  test("top shows the container's processes with docker's columns", async () => {
    await ok(["run", "-d", "--name", "topped", "--network", "none", "busybox", "sleep", "301"]);
    const r = await ok(["top", "topped"]);
    const lines = r.stdout.trimEnd().split("\n");
    assert.match(lines[0]!, /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
    assert.equal(lines.length, 2, r.stdout);
    assert.match(lines[1]!, /sleep 301$/);
    const custom = await ok(["top", "topped", "-o", "pid,comm"]);
    assert.match(custom.stdout, /^PID\s+COMMAND\n\d+\s+sleep\n$/);
  });

  test("stats --no-stream prints one row with memory and pids", async () => {
    await ok(["run", "-d", "--name", "measured", "--network", "none", "busybox", "sleep", "302"]);
    const r = await ok(["stats", "--no-stream", "measured"]);
    const lines = r.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 2, r.stdout);
    assert.match(lines[0]!, /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
    const f = await ok(["stats", "--no-stream", "--format", "{{.MemUsage}}|{{.PIDs}}|{{.CPUPerc}}", "measured"]);
    const [mem = "", pids = "", cpu = ""] = f.stdout.trim().split("|");
    assert.match(mem, /^\d+(\.\d+)?(B|KiB|MiB|GiB) \/ \d+(\.\d+)?(B|KiB|MiB|GiB)$/);
    assert.ok(Number(pids) >= 1, `pids ${pids}`);
    assert.match(cpu, /^\d+\.\d\d%$/);
  });

  test("container prune removes stopped containers only", async () => {
    await ok(["create", "--name", "prune-me", "--label", "p=1", "--network", "none", "busybox", "true"]);
    await ok(["create", "--name", "keep-label", "--network", "none", "busybox", "true"]);
    await ok(["run", "-d", "--name", "prune-running", "--network", "none", "busybox", "sleep", "303"]);
    const id = (await ok(["inspect", "--format", "{{.Id}}", "prune-me"])).stdout.trim();
    const labelled = await ok(["container", "prune", "-f", "--filter", "label=p=1"]);
    assert.equal(labelled.stdout.split("\n").slice(0, 2).join("\n"), `Deleted Containers:\n${id}`);
    assert.match(labelled.stdout, /Total reclaimed space: /);
    assert.equal((await b.run(["inspect", "keep-label"])).code, 0, "a container without the label stays");
    const all = await ok(["container", "prune", "-f"]);
    assert.match(all.stdout, /^Deleted Containers:\n/);
    const left = (await ok(["ps", "-a", "--format", "{{.Names}}"])).stdout.split("\n").filter((x) => x !== "");
    assert.deepEqual(left.sort(), ["busy", "live", "measured", "prune-running", "topped", "evil-running"].sort());
    const none = await ok(["container", "prune", "-f"]);
    assert.equal(none.stdout, "Total reclaimed space: 0B\n");
  });
});
