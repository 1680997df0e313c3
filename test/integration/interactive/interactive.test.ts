/**
 * Issue 3 end to end through the real `berth` command: piped stdin through
 * run -i / start -ai / attach, exec exit codes and options, and a real
 * pseudo-terminal (util-linux `script`) for -t: tty device, window size and
 * its changes, detach keys.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BERTH_ENTRY, berthSandbox, type BerthSandbox } from "../../../src/testing/cli.ts";
import { makeBusyboxTar } from "../../../src/testing/busybox.ts";
import { requires } from "../../../src/testing/requires.ts";

const skip = requires("root", "runc", "conmon", "busybox");
const NET = ["--network", "none"];

/** A running process whose output we poll. */
interface Live {
  child: ChildProcessWithoutNullStreams;
  output(): string;
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
  exited: Promise<number>;
}

function live(cmd: string, args: string[], env: Record<string, string>): Live {
  const child = spawn(cmd, args, { env, stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr.on("data", (c: Buffer) => (out += c.toString()));
  child.stdin.on("error", () => undefined);
  const exited = new Promise<number>((res) => child.on("close", (code, sig) => res(code ?? (sig === null ? -1 : 128))));
  return {
    child,
    output: () => out,
    exited,
    async waitFor(re, ms = 20_000) {
      const end = Date.now() + ms;
      for (;;) {
        const m = re.exec(out);
        if (m !== null) return m;
        if (Date.now() > end) throw new Error(`timed out waiting for ${re} in ${JSON.stringify(out)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<T>((_, rej) => (t = setTimeout(() => rej(new Error(`${what}: no result in ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(t);
  }
}

describe("interactive containers", { skip }, () => {
  let b: BerthSandbox;
  let work: string;
  const berth = [process.execPath, "--disable-warning=ExperimentalWarning", BERTH_ENTRY].map((a) => `'${a}'`).join(" ");
  /** Runs a shell command line under a pseudo-terminal (script), stdin piped to us. */
  const inPty = (line: string): Live => live("script", ["-qefc", line, "/dev/null"], b.env);

  before(async () => {
    b = berthSandbox("berth-interactive-");
    work = mkdtempSync(join(tmpdir(), "berth-interactive-"));
    makeBusyboxTar(work, join(work, "busybox.tar"));
    const r = await b.run(["import", join(work, "busybox.tar"), "busybox"]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    if (b !== undefined) {
      const ids = (await b.run(["ps", "-aq"])).stdout.split("\n").filter((x) => x !== "");
      if (ids.length > 0) await b.run(["rm", "-f", ...ids]);
      b.cleanup();
    }
    rmSync(work, { recursive: true, force: true });
  });

  test("run -i: piped stdin reaches the container, EOF closes it, exit code passes", async () => {
    const r = await b.run(["run", "-i", "--rm", ...NET, "busybox", "sh", "-c", "cat; echo after-eof; exit 4"], { input: "hello\nworld\n" });
    assert.equal(r.code, 4, r.stderr);
    assert.equal(r.stdout, "hello\nworld\nafter-eof\n");
  });

  test("run -i: stdout and stderr stay separate; large input passes intact", async () => {
    const big = Buffer.alloc(300_000, "abcdefghij\n");
    const r = await b.run(["run", "-i", "--rm", ...NET, "busybox", "sh", "-c", "wc -c; echo oops >&2"], { input: big });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), String(big.length));
    assert.equal(r.stderr, "oops\n");
  });

  test("start -ai feeds stdin to a created container", async () => {
    const c = await b.run(["create", "-i", "--name", "s1", ...NET, "busybox", "sh", "-c", "read x; echo got:$x"]);
    assert.equal(c.code, 0, c.stderr);
    const r = await b.run(["start", "-ai", "s1"], { input: "ping\n" });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "got:ping\n");
    await b.run(["rm", "-f", "s1"]);
  });

  test("attach to a running container: sees new output, feeds stdin, exits with its code", async () => {
    // run -d -i keeps stdin open across attaches (StdinOnce false, as docker): the client says "quit" instead of closing it.
    const d = await b.run(["run", "-d", "-i", "--name", "a1", ...NET, "busybox", "sh", "-c", 'while read l; do [ "$l" = quit ] && break; echo got:$l; done; echo bye; exit 5']);
    assert.equal(d.code, 0, d.stderr);
    const a = live(process.execPath, ["--disable-warning=ExperimentalWarning", BERTH_ENTRY, "attach", "a1"], b.env);
    // Lines typed before the socket is up would still be delivered; poll for the echo of each.
    a.child.stdin.write("one\n");
    await a.waitFor(/got:one\n/);
    a.child.stdin.write("two\n");
    await a.waitFor(/got:two\n/);
    a.child.stdin.write("quit\n");
    assert.equal(await within(a.exited, 20_000, "attach"), 5, a.output());
    assert.match(a.output(), /bye\n/);
    await b.run(["rm", "-f", "a1"]);
  });

  test("attach refuses a stopped container", async () => {
    await b.run(["create", "--name", "a2", ...NET, "busybox", "true"]);
    const r = await b.run(["attach", "a2"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /You cannot attach to a stopped container, start it first/);
    await b.run(["rm", "-f", "a2"]);
  });

  describe("exec", () => {
    before(async () => {
      const r = await b.run(["run", "-d", "--name", "e1", ...NET, "busybox", "sleep", "1000"]);
      assert.equal(r.code, 0, r.stderr);
    });
    after(async () => {
      await b.run(["rm", "-f", "e1"]);
    });

    test("exit codes: 0, the command's own, 126 not executable, 127 not found", async () => {
      const ok = await b.run(["exec", "e1", "echo", "hi"]);
      assert.deepEqual([ok.code, ok.stdout], [0, "hi\n"], ok.stderr);
      const three = await b.run(["exec", "e1", "sh", "-c", "exit 3"]);
      assert.equal(three.code, 3);
      const notExec = await b.run(["exec", "e1", "/etc/passwd"]);
      assert.equal(notExec.code, 126);
      assert.match(notExec.stderr, /^OCI runtime exec failed: .*permission denied: unknown\n$/);
      const missing = await b.run(["exec", "e1", "nope"]);
      assert.equal(missing.code, 127);
      assert.equal(missing.stderr, 'OCI runtime exec failed: exec failed: unable to start container process: exec: "nope": executable file not found in $PATH: unknown\n');
    });

    test("-e, --env-file, -u, -w take effect; the container's env is kept", async () => {
      const envFile = join(work, "env.list");
      (await import("node:fs")).writeFileSync(envFile, "FROMFILE=yes\n# comment\n");
      const r = await b.run(["exec", "-e", "FOO=bar", "--env-file", envFile, "-u", "nobody", "-w", "/tmp", "e1", "sh", "-c", "echo $FOO $FROMFILE $(id -u):$(id -g) $(pwd) $HOME $PATH"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "bar yes 65534:65534 /tmp /home /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n");
      const rel = await b.run(["exec", "-w", "tmp", "e1", "pwd"]);
      assert.equal(rel.code, 1);
      assert.match(rel.stderr, /the working directory 'tmp' is invalid, it needs to be an absolute path/);
    });

    test("--privileged grants every capability; the default set does not", async () => {
      const plain = await b.run(["exec", "e1", "sh", "-c", "grep CapEff /proc/self/status"]);
      const priv = await b.run(["exec", "--privileged", "e1", "sh", "-c", "grep CapEff /proc/self/status"]);
      assert.equal(plain.code, 0, plain.stderr);
      assert.notEqual(plain.stdout, priv.stdout);
      const eff = (t: string): bigint => BigInt(`0x${/CapEff:\s+([0-9a-f]+)/.exec(t)?.[1] ?? "0"}`);
      assert.equal((eff(plain.stdout) >> 21n) & 1n, 0n, "CAP_SYS_ADMIN without --privileged");
      assert.equal((eff(priv.stdout) >> 21n) & 1n, 1n, "CAP_SYS_ADMIN with --privileged");
      assert.ok(eff(priv.stdout) > eff(plain.stdout));
    });

    test("-i pipes stdin; -d returns at once and the process runs", async () => {
      const r = await b.run(["exec", "-i", "e1", "sh", "-c", "cat; echo end"], { input: "data\n" });
      assert.deepEqual([r.code, r.stdout], [0, "data\nend\n"]);
      const d = await b.run(["exec", "-d", "e1", "sh", "-c", "echo marker > /tmp/detached"]);
      assert.deepEqual([d.code, d.stdout], [0, ""]);
      const end = Date.now() + 10_000;
      for (;;) {
        const c = await b.run(["exec", "e1", "cat", "/tmp/detached"]);
        if (c.stdout === "marker\n") break;
        assert.ok(Date.now() < end, "the detached exec never wrote its file");
      }
    });

    test("no output is lost across repeated short execs", async () => {
      for (let i = 0; i < 10; i++) {
        const r = await b.run(["exec", "e1", "echo", `n${i}`]);
        assert.deepEqual([r.code, r.stdout, r.stderr], [0, `n${i}\n`, ""]);
      }
    });

    test("into a stopped container: docker's message, exit 1; missing container: exit 1", async () => {
      await b.run(["create", "--name", "e2", ...NET, "busybox", "true"]);
      const id = (await b.run(["inspect", "-f", "{{.Id}}", "e2"])).stdout.trim();
      const r = await b.run(["exec", "e2", "true"]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `Error response from daemon: container ${id} is not running\n`);
      const m = await b.run(["exec", "nosuch", "true"]);
      assert.equal(m.code, 1);
      assert.match(m.stderr, /No such container: nosuch/);
      await b.run(["rm", "-f", "e2"]);
    });
  });

  describe("with a pseudo-terminal", () => {
    test("run -it: the process has a tty of the right size, which follows ours", async () => {
      const p = inPty(`tty; stty rows 30 cols 100; ${berth} run -it --rm ${NET.join(" ")} busybox sh -c 'tty; stty size; while read x; do stty size; done'`);
      const outer = (await p.waitFor(/^(\/dev\/pts\/\d+)\r?\n/m))[1]!;
      await p.waitFor(/\/dev\/pts\/\d+\r+\n30 100\r+\n/);
      // Resizing our terminal sends SIGWINCH to berth, which resizes the container's.
      execFileSync("stty", ["-F", outer, "rows", "40", "cols", "120"]);
      // The new size reaches the container asynchronously (SIGWINCH → berth → conmon): ask until it shows.
      const end = Date.now() + 10_000;
      while (!/40 120\r+\n/.test(p.output())) {
        assert.ok(Date.now() < end, `the size never changed: ${JSON.stringify(p.output())}`);
        p.child.stdin.write("\r");
        await p.waitFor(/\d+ \d+\r+\n(?![\s\S]*\r\n\r)/, 5_000).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 50));
      }
      p.child.stdin.write("\x04"); // ^D: end of input for the shell's read
      assert.equal(await within(p.exited, 20_000, "run -it"), 0, p.output());
    });

    test("run -it: ^C is a byte for the terminal (SIGINT inside), not a signal to berth", async () => {
      const p = inPty(`${berth} run -it --rm ${NET.join(" ")} busybox sh -c 'trap "echo caught-int; exit 7" INT; echo ready; while true; do read x; done'`);
      await p.waitFor(/ready/);
      p.child.stdin.write("\x03");
      await p.waitFor(/caught-int/);
      assert.equal(await within(p.exited, 20_000, "run -it"), 7, p.output());
    });

    test("detach keys leave the container running; attach -t sees it again", async () => {
      const p = inPty(`${berth} run -it --name dk ${NET.join(" ")} busybox sh`);
      p.child.stdin.write("echo rea''dy\r");
      await p.waitFor(/ready/);
      p.child.stdin.write("\x10\x11");
      assert.equal(await within(p.exited, 20_000, "detach"), 0, p.output());
      const s = await b.run(["inspect", "-f", "{{.State.Running}}", "dk"]);
      assert.equal(s.stdout.trim(), "true");
      // Custom keys, and output produced after attaching reaches us.
      const a = inPty(`${berth} attach --detach-keys ctrl-x,x dk`);
      // Output written to the container's terminal after the attach connected reaches us.
      const end = Date.now() + 10_000;
      while (!/from-exec/.test(a.output())) {
        assert.ok(Date.now() < end, `attach never saw new output: ${JSON.stringify(a.output())}`);
        const ex = await b.run(["exec", "dk", "sh", "-c", "echo from-exec > /proc/1/fd/1"]);
        assert.equal(ex.code, 0, ex.stderr);
      }
      a.child.stdin.write("\x18x");
      assert.equal(await within(a.exited, 20_000, "attach detach"), 0, a.output());
      assert.equal((await b.run(["inspect", "-f", "{{.State.Running}}", "dk"])).stdout.trim(), "true");
      await b.run(["rm", "-f", "dk"]);
    });

    test("exec -it: a tty in the container", async () => {
      const r = await b.run(["run", "-d", "--name", "et", ...NET, "busybox", "sleep", "1000"]);
      assert.equal(r.code, 0, r.stderr);
      const p = inPty(`stty rows 25 cols 90; ${berth} exec -it et sh -c 'tty; stty size; exit 6'`);
      await p.waitFor(/\/dev\/pts\/\d+\r+\n25 90\r+\n/);
      assert.equal(await within(p.exited, 20_000, "exec -it"), 6, p.output());
      await b.run(["rm", "-f", "et"]);
    });
  });
});
