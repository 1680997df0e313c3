/**
 * Issue 7, the walkthrough, through the real berth command:
 *
 * - fast (always, as root): the same steps as the Node walkthrough with a busybox
 *   httpd app — the base image is only in a local registry that serves as the
 *   docker.io mirror, so `FROM busybox` finds it through the "Hub"; then build,
 *   run -d -p, fetch the page from 127.0.0.1, images / image inspect (Containers)
 *   / ps show it, rm -f leaves no container, mount, conmon or forwarded port.
 * - slow (BERTH_SLOW_TESTS=1: debootstrap, the Debian mirror and the npm
 *   registry; minutes): scripts/demo.sh itself, in a private root with a
 *   private mirror and port, twice — the second run reuses everything.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { BERTH_ENTRY, berthSandbox, type BerthSandbox } from "../../../src/testing/cli.ts";
import { makeBusyboxTar } from "../../../src/testing/busybox.ts";
import { freePort, startRegistry, type RegistryServer } from "../../../src/testing/registry-server.ts";
import { requires } from "../../../src/testing/requires.ts";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m.startsWith(dir));
}

function conmonsFor(root: string): string[] {
  return execFileSync("ps", ["-eo", "pid,args"], { encoding: "utf8" })
    .split("\n")
    .filter((l) => l.includes("conmon") && l.includes(root));
}

/** Polls `check` until it returns a value other than undefined, up to `ms`. */
async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** GET http://127.0.0.1:port/ → body, or undefined when nothing answers. */
async function page(port: number): Promise<string | undefined> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) });
    return r.ok ? await r.text() : undefined;
  } catch {
    return undefined;
  }
}

describe("walkthrough with busybox httpd (base image from the docker.io mirror)", { skip: requires("root", "runc", "conmon", "overlay", "cni", "iptables", "busybox", "registry") }, () => {
  let b: BerthSandbox;
  let reg: RegistryServer;
  let work: string;
  let port: number;
  const marker = `hello from the walkthrough ${process.pid}-${Date.now()}`;

  before(async () => {
    b = berthSandbox("berth-walk-");
    reg = await startRegistry();
    writeFileSync(b.env["BERTH_CONFIG"]!, JSON.stringify({ "registry-mirrors": [reg.url] }));
    work = mkdtempSync(join(tmpdir(), "berth-walk-ctx-"));
    port = await freePort();
  });
  after(async () => {
    if (b !== undefined) {
      const ids = (await b.run(["ps", "-aq", "--no-trunc"])).stdout.split("\n").filter((x) => x !== "");
      if (ids.length > 0) await b.run(["rm", "-f", ...ids]);
      assert.deepEqual(mountsUnder(b.root), [], "no mount left under the berth root");
      await until("conmon gone", () => (conmonsFor(b.root).length === 0 ? true : undefined));
      b.cleanup();
    }
    await reg?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test("the base image lives only in the mirror", async () => {
    makeBusyboxTar(join(work, "bb"), join(work, "bb.tar"));
    const imp = await b.run(["import", "-c", 'CMD ["sh"]', join(work, "bb.tar"), "busybox:latest"]);
    assert.equal(imp.code, 0, imp.stderr);
    const hub = `${reg.host}/library/busybox:latest`;
    assert.equal((await b.run(["tag", "busybox:latest", hub])).code, 0);
    const push = await b.run(["push", "-q", hub]);
    assert.equal(push.code, 0, push.stderr);
    for (const name of [hub, "busybox:latest"]) {
      const rm = await b.run(["rmi", name]);
      assert.equal(rm.code, 0, rm.stderr);
    }
    assert.equal((await b.run(["images", "-q"])).stdout, "", "the store is empty: FROM busybox must go to the mirror");
  });

  test("build: FROM busybox is pulled through the mirror, then the app is built", async () => {
    const ctx = join(work, "app");
    mkdirSync(join(ctx, "site"), { recursive: true });
    writeFileSync(join(ctx, "Dockerfile"), 'FROM busybox\nWORKDIR /www\nCOPY ./site /www\nEXPOSE 3000\nCMD ["httpd", "-f", "-p", "3000", "-h", "/www"]\n');
    writeFileSync(join(ctx, "site", "index.html"), `${marker}\n`);
    writeFileSync(join(ctx, ".dockerignore"), "secret.txt\n");
    writeFileSync(join(ctx, "secret.txt"), "must not reach the image\n");
    const r = await b.run(["build", "-t", "walk-app", ctx], { timeoutMs: 180_000 });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const images = await b.run(["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert.deepEqual(images.stdout.trim().split("\n").sort(), ["busybox:latest", "walk-app:latest"]);
    const digests = await b.run(["image", "inspect", "--format", "{{json .RepoDigests}}", "busybox"]);
    assert.match(digests.stdout, /"busybox@sha256:[0-9a-f]{64}"/, "busybox came from a registry (it has a repo digest)");
  });

  test("run -d -p serves the page on 127.0.0.1; images, image inspect and ps show it; rm -f leaves nothing", async () => {
    const run = await b.run(["run", "-d", "-p", `${port}:3000`, "--name", "walk", "walk-app"]);
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);

    const body = await until("the page", () => page(port));
    assert.equal(body, `${marker}\n`);

    const ls = await b.run(["images", "walk-app"]);
    assert.match(ls.stdout, /^walk-app\s+latest\s+[0-9a-f]{12}\s/m);
    const inspect = await b.run(["image", "inspect", "--format", "{{json .Containers}} {{json .Config.ExposedPorts}}", "walk-app"]);
    assert.equal(inspect.stdout.trim(), `[{"Id":"${id}","Name":"/walk","State":"running"}] {"3000/tcp":{}}`);
    const ps = await b.run(["ps"]);
    const row = ps.stdout.split("\n").find((l) => l.startsWith(id.slice(0, 12)));
    assert.ok(row !== undefined, ps.stdout);
    assert.match(row, new RegExp(`\\bwalk-app\\s.*Up .*0\\.0\\.0\\.0:${port}->3000/tcp\\s+walk$`));
    const secret = await b.run(["run", "--rm", "--network", "none", "walk-app", "ls", "/www"]);
    assert.equal(secret.stdout, "index.html\n", ".dockerignore kept secret.txt out");

    const rm = await b.run(["rm", "-f", "walk"]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal(rm.stdout.trim(), "walk");
    assert.equal((await b.run(["ps", "-aq"])).stdout, "", "no container left");
    const after = await b.run(["image", "inspect", "--format", "{{json .Containers}}", "walk-app"]);
    assert.equal(after.stdout.trim(), "[]");
    await until("the port closed", async () => ((await page(port)) === undefined ? true : undefined));
    assert.deepEqual(mountsUnder(b.root), [], "no mount left under the berth root");
    await until("conmon gone", () => (conmonsFor(b.root).length === 0 ? true : undefined));
    const netns = join(b.runRoot, "network", "netns");
    assert.deepEqual(existsSync(netns) ? readdirSync(netns) : [], [], "no network namespace left");
  });
});

/** Runs scripts/demo.sh (or another script) with env; resolves with its output and exit code. */
function script(path: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn("bash", [path, ...args], { cwd: REPO, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += String(c)));
    child.stderr.on("data", (c: Buffer) => (out += String(c)));
    const timer = setTimeout(() => child.kill("SIGKILL"), 15 * 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, out });
    });
  });
}

const slowSkip = process.env["BERTH_SLOW_TESTS"] !== "1"
  ? "set BERTH_SLOW_TESTS=1 (debootstrap, the Debian mirror and the npm registry; minutes)"
  : requires("root", "runc", "conmon", "overlay", "cni", "iptables", "busybox", "registry");

describe("scripts/demo.sh: the Node walkthrough, in a private root", { skip: slowSkip }, () => {
  let b: BerthSandbox;
  let env: Record<string, string>;
  before(async () => {
    b = berthSandbox("berth-demo-");
    const dir = dirname(b.root);
    env = {
      ...b.env,
      BERTH: `${process.execPath} --disable-warning=ExperimentalWarning ${BERTH_ENTRY}`,
      BERTH_MIRROR_ADDR: `127.0.0.1:${await freePort()}`,
      BERTH_MIRROR_DIR: join(dir, "mirror"),
      DEMO_PORT: String(await freePort()),
    };
  });
  after(async () => {
    if (b === undefined) return;
    await script("scripts/registry-mirror.sh", ["stop"], env);
    const ids = (await b.run(["ps", "-aq", "--no-trunc"])).stdout.split("\n").filter((x) => x !== "");
    if (ids.length > 0) await b.run(["rm", "-f", ...ids]);
    b.cleanup();
  });

  test("first run makes the base images and the mirror, serves the page, cleans up", async () => {
    const r = await script("scripts/demo.sh", [], env);
    assert.equal(r.code, 0, r.out.slice(-4000));
    assert.match(r.out, /Hello from berth!\nhostname: [0-9a-f]{12}\nnode: v24\./);
    assert.match(r.out, /0\.0\.0\.0:\d+->3000\/tcp\s+my-app/);
    assert.match(r.out, /\[\{"Id":"[0-9a-f]{64}","Name":"\/my-app","State":"running"\}\]/);
    assert.match(r.out, /\$ berth run --rm node node -v\nv24\./);
    assert.match(r.out, /> \[ 2, 4, 6 \]/, "the REPL read its input from the pipe");
    assert.match(r.out, /Unable to find image 'busybox:latest' locally\n[^]*pulled from the mirror/);
    assert.equal((await b.run(["ps", "-aq"])).stdout, "", "no container left");
    const cfg = JSON.parse(readFileSync(env["BERTH_CONFIG"]!, "utf8")) as Record<string, unknown>;
    assert.deepEqual(cfg["registry-mirrors"], [`http://${env["BERTH_MIRROR_ADDR"]}`]);
  });

  test("second run reuses the images, the mirror and the build cache", async () => {
    const r = await script("scripts/demo.sh", [], env);
    assert.equal(r.code, 0, r.out.slice(-4000));
    assert.match(r.out, /node: node:24 node:latest node:lts present/);
    assert.match(r.out, /docker-registry already serving/);
    assert.match(r.out, /library\/node:24 is up to date/);
    assert.doesNotMatch(r.out, /cache miss/);
    assert.equal((await b.run(["ps", "-aq"])).stdout, "");
  });
});
