/**
 * Issue 5 end to end through the real `berth` command against a real
 * docker-registry on 127.0.0.1: push an imported image, pull it into other
 * sandboxes (same ID, RepoDigests), Docker Hub names through registry-mirrors,
 * pull by digest, -a, --platform mismatch, missing images, login/logout with
 * htpasswd, and ensureImage's pull policies.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kindOf } from "../../../src/core/index.ts";
import { Engine, loadEngineConfig } from "../../../src/engine/index.ts";
import { ensureImage } from "../../../src/engine/image-ensure.ts";
import type { ProgressEvent } from "../../../src/engine/image-pull.ts";
import { berthSandbox, type BerthSandbox } from "../../../src/testing/cli.ts";
import { makeBusyboxTar } from "../../../src/testing/busybox.ts";
import { startRegistry, type RegistryServer } from "../../../src/testing/registry-server.ts";
import { requires } from "../../../src/testing/requires.ts";
import { berth } from "./run.ts";

const skip = requires("root", "registry", "busybox", "runc", "conmon", "overlay");

describe("pull / push / login / logout", { skip }, () => {
  let reg: RegistryServer;
  let work: string;
  const sandboxes: BerthSandbox[] = [];
  let a: BerthSandbox;
  let id: string;
  let digest: string;
  let repo: string;

  /** A fresh store; with `mirror`, docker.io pulls go to the test registry. */
  function sandbox(o: { mirror?: boolean } = {}): BerthSandbox {
    const sb = berthSandbox("berth-pullpush-");
    sandboxes.push(sb);
    if (o.mirror) writeFileSync(sb.env["BERTH_CONFIG"]!, JSON.stringify({ "registry-mirrors": [reg.url] }));
    // Credentials of the developer's own ~/.docker must never leak into tests.
    sb.env["DOCKER_CONFIG"] = mkdtempSync(join(work, "docker-config-"));
    return sb;
  }

  before(async () => {
    reg = await startRegistry();
    work = mkdtempSync(join(tmpdir(), "berth-pullpush-work-"));
    repo = `${reg.host}/test/busybox`;
    const tar = join(work, "busybox.tar");
    makeBusyboxTar(work, tar);
    a = sandbox();
    const r = await berth(a, ["import", tar, `${repo}:1.0`], { env: { SOURCE_DATE_EPOCH: "1700000000" } });
    assert.equal(r.code, 0, r.stderr);
    id = r.stdout.trim();
  });
  after(async () => {
    for (const sb of sandboxes) sb.cleanup();
    await reg?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test("push prints docker's lines and records the repo digest", async () => {
    const r = await berth(a, ["push", `${repo}:1.0`]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.startsWith(`The push refers to repository [${repo}]\n`), r.stdout);
    assert.match(r.stdout, /^[a-f0-9]{12}: Pushed$/m);
    const m = /^1\.0: digest: (sha256:[a-f0-9]{64}) size: (\d+)$/m.exec(r.stdout);
    assert.ok(m, r.stdout);
    digest = m[1]!;
    const i = await berth(a, ["image", "inspect", "-f", "{{json .RepoDigests}}", `${repo}:1.0`]);
    assert.deepEqual(JSON.parse(i.stdout), [`${repo}@${digest}`]);
    // Second push: the registry has every layer.
    const again = await berth(a, ["push", `${repo}:1.0`]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^[a-f0-9]{12}: Layer already exists$/m);
    assert.doesNotMatch(again.stdout, /: Pushed$/m);
  });

  test("pull into a second store gives the same ID and RepoDigests", async () => {
    const b = sandbox();
    const r = await berth(b, ["pull", `${repo}:1.0`]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    assert.equal(lines[0], "1.0: Pulling from test/busybox");
    assert.ok(lines.some((l) => /^[a-f0-9]{12}: Pull complete$/.test(l)), r.stdout);
    assert.ok(!lines.some((l) => l.includes("Downloading")), "no progress lines outside a terminal");
    assert.deepEqual(lines.slice(-3), [`Digest: ${digest}`, `Status: Downloaded newer image for ${repo}:1.0`, `${repo}:1.0`]);
    const i = await berth(b, ["image", "inspect", "-f", "{{.Id}} {{json .RepoDigests}} {{json .RepoTags}}", `${repo}:1.0`]);
    assert.equal(i.stdout.trim(), `${id} ${JSON.stringify([`${repo}@${digest}`])} ${JSON.stringify([`${repo}:1.0`])}`);
    const d = await berth(b, ["images", "--digests", "--format", "{{.Repository}} {{.Tag}} {{.Digest}}"]);
    assert.equal(d.stdout.trim(), `${repo} 1.0 ${digest}`);
    // Layers are unpacked during the pull (as docker does), into the shared layer store.
    const layerCount = JSON.parse((await berth(b, ["image", "inspect", "-f", "{{json .RootFS.Layers}}", `${repo}:1.0`])).stdout) as string[];
    const unpacked = readdirSync(join(b.env["BERTH_ROOT"]!, "layers")).filter((n) => /^[a-f0-9]{64}$/.test(n));
    assert.equal(unpacked.length, layerCount.length);
    const run = await berth(b, ["run", "--rm", "--network", "none", `${repo}:1.0`, "echo", "from the pulled image"]);
    assert.equal(run.stdout, "from the pulled image\n", run.stderr);
    const again = await berth(b, ["pull", `${repo}:1.0`]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^[a-f0-9]{12}: Already exists$/m);
    assert.match(again.stdout, new RegExp(`^Status: Image is up to date for ${repo}:1\\.0$`, "m"));
    const q = await berth(sandbox(), ["pull", "-q", `${repo}:1.0`]);
    assert.equal(q.code, 0, q.stderr);
    assert.equal(q.stdout, `${repo}:1.0\n`);
  });

  test("docker.io names are pulled through registry-mirrors", async () => {
    assert.equal((await berth(a, ["tag", `${repo}:1.0`, `${reg.host}/library/busybox:latest`])).code, 0);
    const p = await berth(a, ["push", `${reg.host}/library/busybox`]);
    assert.equal(p.code, 0, p.stderr);
    assert.ok(p.stdout.startsWith("Using default tag: latest\n"), p.stdout);
    const c = sandbox({ mirror: true });
    const r = await berth(c, ["pull", "busybox"]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    assert.deepEqual(lines.slice(0, 2), ["Using default tag: latest", "latest: Pulling from library/busybox"]);
    assert.deepEqual(lines.slice(-3), [`Digest: ${digest}`, "Status: Downloaded newer image for busybox:latest", "docker.io/library/busybox:latest"]);
    const i = await berth(c, ["image", "inspect", "-f", "{{.Id}} {{json .RepoDigests}}", "busybox"]);
    assert.equal(i.stdout.trim(), `${id} ${JSON.stringify([`busybox@${digest}`])}`);
  });

  test("pull by digest records the repo digest and no tag", async () => {
    const d = sandbox();
    const r = await berth(d, ["pull", `${repo}@${digest}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /Using default tag/);
    assert.ok(r.stdout.startsWith(`${digest}: Pulling from test/busybox\n`), r.stdout);
    assert.ok(r.stdout.endsWith(`Digest: ${digest}\nStatus: Downloaded newer image for ${repo}@${digest}\n${repo}@${digest}\n`), r.stdout);
    const i = await berth(d, ["image", "inspect", "-f", "{{.Id}} {{json .RepoTags}} {{json .RepoDigests}}", `${repo}@${digest}`]);
    assert.equal(i.stdout.trim(), `${id} [] ${JSON.stringify([`${repo}@${digest}`])}`);
  });

  test("pull -a pulls every tag; a tag with -a is refused", async () => {
    assert.equal((await berth(a, ["tag", `${repo}:1.0`, `${repo}:1.1`])).code, 0);
    assert.equal((await berth(a, ["push", "-q", `${repo}:1.1`])).stdout, `${repo}:1.1\n`);
    const e = sandbox();
    const r = await berth(e, ["pull", "-a", repo]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^1\.0: Pulling from test\/busybox$/m);
    assert.match(r.stdout, /^1\.1: Pulling from test\/busybox$/m);
    assert.ok(r.stdout.endsWith(`Status: Downloaded newer image for ${repo}\n${repo}\n`), r.stdout);
    const tags = await berth(e, ["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]);
    assert.deepEqual(tags.stdout.trim().split("\n").sort(), [`${repo}:1.0 ${id.slice(7, 19)}`, `${repo}:1.1 ${id.slice(7, 19)}`]);
    const bad = await berth(e, ["pull", "-a", `${repo}:1.0`]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /tag can't be used with --all-tags\/-a/);
  });

  test("--platform that the image does not have is an error and records nothing", async () => {
    const f = sandbox();
    const r = await berth(f, ["pull", "--platform", "linux/arm64", `${repo}:1.0`]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /does not match the specified platform: wanted linux\/arm64, actual: linux\/amd64/);
    const l = await berth(f, ["images", "-q"]);
    assert.equal(l.stdout, "");
  });

  test("missing tag or repository: docker's message, exit 1", async () => {
    const g = sandbox();
    const tag = await berth(g, ["pull", `${repo}:nope`]);
    assert.equal(tag.code, 1);
    assert.match(tag.stderr, /^Error response from daemon: .*not found/m);
    const r = await berth(g, ["pull", `${reg.host}/no/such`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error response from daemon: .*(does not exist|not found)/m);
    const push = await berth(g, ["push", `${reg.host}/no/such:1`]);
    assert.equal(push.code, 1);
    assert.equal(push.stderr, `Error response from daemon: An image does not exist locally with the tag: ${reg.host}/no/such\n`);
    const noTag = await berth(a, ["push", `${repo}:9.9`]);
    assert.equal(noTag.code, 1);
    assert.equal(noTag.stderr, `Error response from daemon: tag does not exist: ${repo}:9.9\n`);
  });

  test("ensureImage: never, missing, always", async () => {
    const dir = mkdtempSync(join(work, "ensure-"));
    writeFileSync(join(dir, "config.json"), JSON.stringify({ "registry-mirrors": [reg.url] }));
    const engine = await Engine.open(loadEngineConfig({ BERTH_ROOT: join(dir, "root"), BERTH_CONFIG: join(dir, "config.json") }));
    try {
      const status: string[] = [];
      const events: ProgressEvent[] = [];
      const o = { reference: "busybox", onStatus: (s: string) => status.push(s), onProgress: (e: ProgressEvent) => events.push(e), env: { DOCKER_CONFIG: dir } };
      await assert.rejects(ensureImage(engine.ctx, { ...o, pull: "never" }), (e: Error) => kindOf(e) === "not-found" && e.message === "No such image: busybox:latest");
      assert.equal(events.length, 0);
      assert.equal(await ensureImage(engine.ctx, { ...o, pull: "missing" }), id);
      assert.deepEqual(status, ["Unable to find image 'busybox:latest' locally"]);
      assert.ok(events.some((e) => e.status === "Status: Downloaded newer image for busybox:latest"));
      events.length = 0;
      assert.equal(await ensureImage(engine.ctx, { ...o, pull: "missing" }), id);
      assert.equal(await ensureImage(engine.ctx, { ...o, pull: "never" }), id);
      assert.equal(await ensureImage(engine.ctx, { ...o, reference: id, pull: "always" }), id);
      assert.equal(events.length, 0, "a local image is not pulled again");
      assert.equal(await ensureImage(engine.ctx, { ...o, pull: "always" }), id);
      assert.ok(events.some((e) => e.status === "Status: Image is up to date for busybox:latest"));
      assert.equal(status.length, 1);
    } finally {
      engine.close();
    }
  });

  test("login / logout against an htpasswd registry; the password never shows", async () => {
    const password = "s3cret-Pa55-word";
    const secure = await startRegistry({ htpasswd: { username: "tester", password } });
    try {
      const h = sandbox();
      const cfgPath = join(h.env["DOCKER_CONFIG"]!, "config.json");
      const outputs: string[] = [];
      const run = async (args: string[], input?: string) => {
        const r = await berth(h, args, input === undefined ? {} : { input });
        outputs.push(r.stdout, r.stderr);
        return r;
      };
      const wrong = await run(["login", "-u", "tester", "--password-stdin", secure.host], "not-the-password\n");
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /^Error response from daemon: .*(unauthorized|incorrect|authentication required)/im);
      assert.ok(!existsSync(cfgPath) || !readFileSync(cfgPath, "utf8").includes(secure.host));
      const ok = await run(["login", "-u", "tester", "--password-stdin", secure.host], `${password}\n`);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout, "Login Succeeded\n");
      assert.match(ok.stderr, /WARNING! Your password will be stored unencrypted/);
      const cfg = JSON.parse(readFileSync(cfgPath, "utf8")) as { auths: Record<string, { auth: string }> };
      assert.equal(Buffer.from(cfg.auths[secure.host]!.auth, "base64").toString(), `tester:${password}`);
      const viaP = await run(["login", "-u", "tester", "-p", password, secure.host]);
      assert.equal(viaP.code, 0, viaP.stderr);
      assert.match(viaP.stderr, /^WARNING! Using --password via the CLI is insecure\. Use --password-stdin\.$/m);
      const both = await run(["login", "-u", "tester", "-p", password, "--password-stdin", secure.host], password);
      assert.equal(both.code, 1);
      assert.match(both.stderr, /--password and --password-stdin are mutually exclusive/);
      const noUser = await run(["login", "--password-stdin", secure.host], password);
      assert.equal(noUser.code, 1);
      assert.match(noUser.stderr, /Must provide --username with --password-stdin/);
      const out = await run(["logout", secure.host]);
      assert.equal(out.code, 0, out.stderr);
      assert.equal(out.stdout, `Removing login credentials for ${secure.host}\n`);
      const cfg2 = JSON.parse(readFileSync(cfgPath, "utf8")) as { auths: Record<string, unknown> };
      assert.equal(cfg2.auths[secure.host], undefined);
      const again = await run(["logout", secure.host]);
      assert.equal(again.stdout, `Not logged in to ${secure.host}\n`);
      for (const o of outputs) assert.ok(!o.includes(password), `password leaked in: ${o}`);
    } finally {
      await secure.stop();
    }
  });

  test("push and pull use the stored credentials", async () => {
    const password = "another-Secret-77";
    const secure = await startRegistry({ htpasswd: { username: "u2", password } });
    try {
      const target = `${secure.host}/p/q:1`;
      assert.equal((await berth(a, ["tag", `${repo}:1.0`, target])).code, 0);
      const denied = await berth(a, ["push", target]);
      assert.equal(denied.code, 1);
      assert.match(denied.stderr, /^Error response from daemon: .*(unauthorized|authentication required|no basic auth)/im);
      const login = await berth(a, ["login", "-u", "u2", "--password-stdin", secure.host], { input: password });
      assert.equal(login.code, 0, login.stderr);
      const pushed = await berth(a, ["push", target]);
      assert.equal(pushed.code, 0, pushed.stderr);
      assert.match(pushed.stdout, /^1: digest: sha256:[a-f0-9]{64} size: \d+$/m);
      const b = sandbox();
      b.env["DOCKER_CONFIG"] = a.env["DOCKER_CONFIG"]!;
      const pulled = await berth(b, ["pull", target]);
      assert.equal(pulled.code, 0, pulled.stderr);
      for (const r of [denied, login, pushed, pulled]) assert.ok(!(r.stdout + r.stderr).includes(password));
    } finally {
      await secure.stop();
    }
  });
});

describe("multi-platform images", { skip: requires("registry") }, () => {
  test("pull picks the platform from an index; the repo digest is the index digest", async () => {
    const { RegistryClient, pushImage } = await import("../../../src/registry/index.ts");
    const { makeImage, makeIndex, tempStore } = await import("../registry/helpers.ts");
    const reg = await startRegistry();
    const src = await tempStore();
    const client = new RegistryClient({ config: { mirrors: {}, insecure: [] } });
    const dir = mkdtempSync(join(tmpdir(), "berth-pullpush-mp-"));
    const engine = await Engine.open(loadEngineConfig({ BERTH_ROOT: join(dir, "root"), BERTH_CONFIG: join(dir, "none.json") }));
    try {
      const amd = await makeImage(src.store, { layerSizes: [1000, 2000], platform: { os: "linux", architecture: "amd64" } });
      const arm = await makeImage(src.store, { layerSizes: [3000], platform: { os: "linux", architecture: "arm64", variant: "v8" } });
      const index = await makeIndex(src.store, [
        { image: amd, platform: { os: "linux", architecture: "amd64" } },
        { image: arm, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
      ]);
      await pushImage({ client, ref: { domain: reg.host, path: "mp/img", tag: "1" }, store: src.store, manifest: index });
      const { imagePull } = await import("../../../src/engine/image-pull.ts");
      const env = { DOCKER_CONFIG: dir };
      const r = await imagePull(engine.ctx, { reference: `${reg.host}/mp/img:1`, platform: "linux/arm64", env });
      assert.equal(r.id, arm.config.digest);
      assert.equal(r.digest, index.digest);
      assert.equal(r.manifest.digest, arm.manifest.digest);
      assert.equal(r.status, `Downloaded newer image for ${reg.host}/mp/img:1`);
      assert.deepEqual(engine.ctx.images.repoDigestsOf(arm.config.digest), [`${reg.host}/mp/img@${index.digest}`]);
      assert.equal(engine.ctx.images.get(arm.config.digest).target.digest, arm.manifest.digest);
      // The host's platform (amd64 here) moves the tag to the other image.
      if (engine.ctx.platform.architecture === "amd64") {
        const h = await imagePull(engine.ctx, { reference: `${reg.host}/mp/img:1`, env });
        assert.equal(h.id, amd.config.digest);
        assert.equal(engine.ctx.images.resolveTag(`${reg.host}/mp/img:1`), amd.config.digest);
      }
      await assert.rejects(imagePull(engine.ctx, { reference: `${reg.host}/mp/img:1`, platform: "linux/s390x", env }), (e: Error) =>
        kindOf(e) === "not-found" && /no matching manifest for linux\/s390x/.test(e.message));
      // A cancelled pull records nothing.
      const ac = new AbortController();
      ac.abort(new Error("stop"));
      await assert.rejects(imagePull(engine.ctx, { reference: `${reg.host}/mp/img:1`, platform: "linux/arm64", signal: ac.signal, env }), (e: Error) => kindOf(e) === "cancelled");
    } finally {
      engine.close();
      await client.close();
      await reg.stop();
      await src.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
