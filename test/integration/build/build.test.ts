/**
 * Issue 4 end to end: Dockerfile → image, on a busybox base imported into a
 * private engine. Each test builds a small context and checks the image
 * config, the files (exported with -o type=local) and the progress text.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { imageBuild } from "../../../src/engine/image-build.ts";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { requires } from "../../../src/testing/requires.ts";
import { loadImageView } from "../../../src/engine/image-view.ts";
import type { Digest } from "../../../src/core/index.ts";
import { buildSandbox, type BuildSandbox } from "./helpers.ts";

const skip = requires("root", "runc", "overlay", "busybox");

describe("berth build", { skip }, () => {
  let sb: BuildSandbox;
  before(async () => {
    sb = await buildSandbox();
  });
  after(async () => {
    await sb?.cleanup();
  });

  const config = async (id: string) => (await loadImageView(sb.engine.ctx, id as Digest)).config;
  const exportFs = async (ctxDir: string, extra: Record<string, unknown> = {}): Promise<{ id: string; fs: string; log: string }> => {
    const fs = mkdtempSync(join(sb.dir, "out-"));
    const r = await sb.build({ contextDir: ctxDir, network: "none", output: { type: "local", dest: fs }, ...extra });
    return { id: r.report.id, fs, log: r.log };
  };

  test("config instructions: ENV, LABEL, EXPOSE, USER, VOLUME, STOPSIGNAL, HEALTHCHECK, SHELL, CMD, ENTRYPOINT, ONBUILD, MAINTAINER, and their history", async () => {
    const ctx = sb.context({
      Dockerfile: [
        "FROM busybox",
        "MAINTAINER someone@example.com",
        "ENV A=1 B=two",
        "LABEL org.example.x=y",
        "EXPOSE 3000 53/udp",
        "VOLUME /data",
        "STOPSIGNAL SIGINT",
        "HEALTHCHECK --interval=5s --retries=2 CMD wget -q localhost",
        "SHELL [\"/bin/sh\", \"-ec\"]",
        "CMD node server.js",
        "ONBUILD RUN echo triggered",
        "USER www",
        "WORKDIR /srv/app",
        "",
      ].join("\n"),
    });
    const { report } = await sb.build({ contextDir: ctx, tags: ["cfg:1"], network: "none" });
    const c = await config(report.id);
    const cc = c.config!;
    assert.equal(c.author, "someone@example.com");
    assert.ok(cc.Env?.includes("A=1") && cc.Env?.includes("B=two"));
    assert.equal(cc.Labels?.["org.example.x"], "y");
    assert.deepEqual(Object.keys(cc.ExposedPorts ?? {}).sort(), ["3000/tcp", "53/udp"]);
    assert.deepEqual(Object.keys(cc.Volumes ?? {}), ["/data"]);
    assert.equal(cc.StopSignal, "SIGINT");
    assert.deepEqual(cc.Healthcheck?.Test, ["CMD-SHELL", "wget -q localhost"]);
    assert.equal(cc.Healthcheck?.Interval, 5e9);
    assert.equal(cc.Healthcheck?.Retries, 2);
    assert.deepEqual(cc.Shell, ["/bin/sh", "-ec"]);
    assert.deepEqual(cc.Cmd, ["/bin/sh", "-ec", "node server.js"], "shell form is wrapped with the stage's SHELL");
    assert.deepEqual(cc.OnBuild, ["RUN echo triggered"]);
    assert.equal(cc.User, "www");
    assert.equal(cc.WorkingDir, "/srv/app");
    const hist = c.history ?? [];
    const by = hist.map((h) => h.created_by);
    assert.ok(by.includes("ENV A=1 B=two"), by.join("\n"));
    assert.ok(by.includes('CMD ["/bin/sh" "-ec" "node server.js"]'), by.join("\n"));
    assert.ok(by.includes("WORKDIR /srv/app"));
    assert.ok(by.includes("EXPOSE [3000/tcp 53/udp]"), by.join("\n"));
    assert.equal(hist.find((h) => h.created_by === "ENV A=1 B=two")?.empty_layer, true);
    assert.equal(hist.find((h) => h.created_by === "WORKDIR /srv/app")?.empty_layer, undefined, "WORKDIR that creates a dir has a layer");
    assert.equal(hist.filter((h) => h.empty_layer !== true).length, c.rootfs.diff_ids.length, "non-empty history entries = layers");

    // A child build runs the ONBUILD trigger and clears it; ENTRYPOINT resets the inherited CMD.
    const child = sb.context({ Dockerfile: "FROM cfg:1\nUSER root\nENTRYPOINT [\"/bin/echo\"]\n" });
    const r2 = await sb.build({ contextDir: child, network: "none" });
    assert.match(r2.log, /RUN echo triggered/);
    assert.match(r2.log, /#\d+ \d+\.\d{3} triggered/);
    const c2 = (await config(r2.report.id)).config!;
    assert.equal(c2.OnBuild, undefined);
    assert.deepEqual(c2.Entrypoint, ["/bin/echo"]);
    assert.equal(c2.Cmd, null);
  });

  test("WORKDIR is created owned by USER; RUN sees ENV, ARG, USER and WORKDIR; history says RUN ... # buildkit", async () => {
    const ctx = sb.context({
      Dockerfile: "FROM busybox\nARG GREETING=hi\nENV TARGET=world\nUSER www\nWORKDIR /home/www/app\nRUN echo \"$GREETING $TARGET $(id -u) $(pwd)\" > out.txt\n",
    });
    const { id, fs } = await exportFs(ctx);
    assert.equal(readFileSync(join(fs, "home/www/app/out.txt"), "utf8"), "hi world 33 /home/www/app\n");
    assert.equal(statSync(join(fs, "home/www/app")).uid, 33);
    const h = (await config(id)).history ?? [];
    assert.ok(h.some((e) => e.created_by === `RUN |1 GREETING=hi /bin/sh -c echo "$GREETING $TARGET $(id -u) $(pwd)" > out.txt # buildkit`), h.map((e) => e.created_by).join("\n"));
    // Nothing the executor mounted leaks into the layer.
    const layerFiles = execFileSync("tar", ["-tzf", "-"], { input: await lastLayer(id) }).toString();
    assert.doesNotMatch(layerFiles, /etc\/(resolv\.conf|hosts|hostname)/);
  });

  const lastLayer = async (id: string): Promise<Buffer> => {
    const v = await loadImageView(sb.engine.ctx, id as Digest);
    return sb.engine.ctx.content.readBytes(v.manifest.layers[v.manifest.layers.length - 1]!.digest);
  };

  test("COPY rules: file into dir, rename, dir contents, wildcards, --chown by name, --chmod, --exclude, --parents, heredoc", async () => {
    const ctx = sb.context({
      Dockerfile: [
        "FROM busybox",
        "COPY a.txt /dst/",
        "COPY a.txt /renamed.txt",
        "COPY dir /contents",
        "COPY *.md /docs/",
        "COPY --chown=www:staff --chmod=640 a.txt /owned/a.txt",
        "COPY --exclude=*.log dir /excl/",
        "COPY --parents dir/sub/deep.txt /par/",
        "WORKDIR /w",
        "COPY a.txt rel/",
        "ENV WHO=me",
        "COPY <<EOF /here.txt",
        "inline $WHO",
        "EOF",
        "",
      ].join("\n"),
      "a.txt": "A\n",
      "dir/x.txt": "X\n",
      "dir/debug.log": "L\n",
      "dir/sub/deep.txt": "D\n",
      "one.md": "1",
      "two.md": "2",
    });
    const { fs } = await exportFs(ctx);
    const read = (p: string) => readFileSync(join(fs, p), "utf8");
    assert.equal(read("dst/a.txt"), "A\n");
    assert.equal(read("renamed.txt"), "A\n");
    assert.equal(read("contents/x.txt"), "X\n");
    assert.equal(read("contents/sub/deep.txt"), "D\n");
    assert.equal(existsSync(join(fs, "contents/dir")), false, "a directory source copies its contents");
    assert.deepEqual(readdirSync(join(fs, "docs")).sort(), ["one.md", "two.md"]);
    const st = statSync(join(fs, "owned/a.txt"));
    assert.equal(st.uid, 33);
    assert.equal(st.gid, 50);
    assert.equal(st.mode & 0o777, 0o640);
    assert.equal(statSync(join(fs, "dst/a.txt")).uid, 0, "COPY defaults to root ownership");
    assert.equal(existsSync(join(fs, "excl/debug.log")), false);
    assert.equal(read("excl/x.txt"), "X\n");
    assert.equal(read("par/dir/sub/deep.txt"), "D\n");
    assert.equal(read("w/rel/a.txt"), "A\n", "a relative destination is under WORKDIR");
    assert.equal(read("here.txt"), "inline me\n");
  });

  test("ADD: a local tar is extracted; a URL is downloaded and its --checksum verified", async () => {
    const srcDir = mkdtempSync(join(sb.dir, "tarsrc-"));
    writeFileSync(join(srcDir, "inner.txt"), "from tar\n");
    const tgz = execFileSync("tar", ["-C", srcDir, "-czf", "-", "inner.txt"]);
    const body = Buffer.from("downloaded\n");
    const sum = `sha256:${createHash("sha256").update(body).digest("hex")}`;
    const server: Server = createServer((_req, res) => res.end(body));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    try {
      const ctx = sb.context({ Dockerfile: `FROM busybox\nADD pack.tgz /unpacked/\nADD --checksum=${sum} http://127.0.0.1:${port}/files/data.txt /dl/\n` });
      writeFileSync(join(ctx, "pack.tgz"), tgz);
      const { fs } = await exportFs(ctx);
      assert.equal(readFileSync(join(fs, "unpacked/inner.txt"), "utf8"), "from tar\n");
      assert.equal(readFileSync(join(fs, "dl/data.txt"), "utf8"), "downloaded\n");
      assert.equal(statSync(join(fs, "dl/data.txt")).mode & 0o777, 0o600);
      const bad = sb.context({ Dockerfile: `FROM busybox\nADD --checksum=sha256:${"0".repeat(64)} http://127.0.0.1:${port}/x /x\n` });
      const f = await sb.buildFails({ contextDir: bad, network: "none" });
      assert.match(f.error.message, /digest mismatch/);
    } finally {
      server.close();
    }
  });

  test(".dockerignore: excluded files are not copied; an excluded COPY source fails saying so; <Dockerfile>.dockerignore wins", async () => {
    const ctx = sb.context({
      Dockerfile: "FROM busybox\nCOPY . /app/\n",
      ".dockerignore": "*.secret\nlogs\n!logs/keep.log\n",
      "app.js": "js",
      "x.secret": "s",
      "logs/a.log": "a",
      "logs/keep.log": "k",
    });
    const { fs } = await exportFs(ctx);
    assert.ok(existsSync(join(fs, "app/app.js")));
    assert.equal(existsSync(join(fs, "app/x.secret")), false);
    assert.equal(existsSync(join(fs, "app/logs/a.log")), false);
    assert.ok(existsSync(join(fs, "app/logs/keep.log")), "an exception brings a file back");

    writeFileSync(join(ctx, "Other.Dockerfile"), "FROM busybox\nCOPY x.secret /s\n");
    const f = await sb.buildFails({ contextDir: ctx, dockerfile: join(ctx, "Other.Dockerfile"), network: "none" });
    assert.match(f.error.message, /x\.secret.*excluded by \.dockerignore/);
    writeFileSync(join(ctx, "Other.Dockerfile.dockerignore"), "logs\n");
    const ok = await sb.build({ contextDir: ctx, dockerfile: join(ctx, "Other.Dockerfile"), network: "none" });
    assert.ok(ok.report.id);
  });

  test("multi-stage: COPY --from a stage and an image; only needed stages build; independent stages run in parallel", async () => {
    const ctx = sb.context({
      Dockerfile: [
        "FROM busybox AS one",
        "RUN sleep 1; cut -d' ' -f1 /proc/uptime > /t1",
        "FROM busybox AS two",
        "RUN sleep 1; cut -d' ' -f1 /proc/uptime > /t2",
        "FROM busybox AS unused",
        "RUN exit 1",
        "FROM scratch",
        "COPY --from=one /t1 /t1",
        "COPY --from=two /t2 /t2",
        "COPY --from=busybox /bin/busybox /bin/busybox",
        "",
      ].join("\n"),
    });
    const t0 = Date.now();
    const { fs, log } = await exportFs(ctx);
    const took = Date.now() - t0;
    assert.ok(existsSync(join(fs, "t1")) && existsSync(join(fs, "t2")) && existsSync(join(fs, "bin/busybox")));
    assert.doesNotMatch(log, /\[unused/, "the unused stage is skipped");
    assert.match(log, /\[one 2\/2\] RUN sleep 1/);
    // Both sleeps overlap: their end times differ by less than one sleep.
    // /proc/uptime is the host's (not namespaced): the two end times, in seconds.
    const t1 = Number(readFileSync(join(fs, "t1"), "utf8").trim());
    const t2 = Number(readFileSync(join(fs, "t2"), "utf8").trim());
    const diffMs = Math.abs(t1 - t2) * 1000;
    assert.ok(diffMs < 900, `stages ran one after the other (${diffMs} ms apart, build ${took} ms)`);
  });

  test("cache: hits, a changed file and what follows, an mtime-only touch, a changed build arg at its first use, --no-cache", async () => {
    const ctx = sb.context({
      Dockerfile: "FROM busybox\nWORKDIR /app\nARG NODE_ENV=dev\nCOPY ./app-code /app\nRUN cat server.js > built.txt\nRUN echo $NODE_ENV > env.txt\n",
      "app-code/server.js": "v1",
      "app-code/lib.js": "lib",
    });
    const b = (extra: Record<string, unknown> = {}) => sb.build({ contextDir: ctx, network: "none", ...extra });
    const first = await b();
    assert.match(first.log, /cache miss: no previous build of this step/);
    const second = await b();
    assert.equal(second.report.id, first.report.id);
    assert.equal(second.report.steps.filter((s) => !s.cached).length, 0, second.log);

    utimesSync(join(ctx, "app-code/server.js"), new Date(), new Date(Date.now() + 5000));
    const touched = await b();
    assert.equal(touched.report.steps.filter((s) => !s.cached).length, 0, "an mtime change alone hits the cache");
    assert.equal(touched.report.id, first.report.id);

    writeFileSync(join(ctx, "app-code/server.js"), "v2");
    const changed = await b();
    const reasons = changed.report.steps.map((s) => [s.name, s.cached ? "CACHED" : s.missReason]);
    assert.deepEqual(reasons, [
      ["[2/6] WORKDIR /app", "CACHED"],
      ["[4/6] COPY ./app-code /app", "app-code/server.js changed"],
      ["[5/6] RUN cat server.js > built.txt", "parent step changed (app-code/server.js changed)"],
      ["[6/6] RUN echo $NODE_ENV > env.txt", "parent step changed (app-code/server.js changed)"],
    ]);
    assert.match(changed.log, /#\d+ \[4\/6\] COPY \.\/app-code \/app\n#\d+ cache miss: app-code\/server\.js changed\n/);

    const arg = await b({ buildArgs: { NODE_ENV: "production" } });
    assert.deepEqual(arg.report.steps.map((s) => (s.cached ? "CACHED" : s.missReason)), ["CACHED", "CACHED", "build arg NODE_ENV changed", "build arg NODE_ENV changed"]);

    const nc = await b({ noCache: true, buildArgs: { NODE_ENV: "production" } });
    assert.ok(nc.report.steps.every((s) => s.missReason === "cache disabled"));
    assert.match(nc.log, /cache miss: cache disabled/);
    assert.equal(nc.report.id, arg.report.id, "a --no-cache rebuild gives the same image (reproducible)");
  });

  test("reproducible: two --no-cache builds of the same context give the same digest; SOURCE_DATE_EPOCH sets created", async () => {
    const ctx = sb.context({ Dockerfile: "FROM busybox\nCOPY f /f\nRUN date > /now && touch /new\n", f: "same" });
    const a = await sb.build({ contextDir: ctx, network: "none", noCache: true });
    const b = await sb.build({ contextDir: ctx, network: "none", noCache: true });
    // The RUN writes the date, so only the COPY layer can be compared here.
    const ca = await config(a.report.id);
    const cb = await config(b.report.id);
    assert.equal(ca.rootfs.diff_ids[1], cb.rootfs.diff_ids[1], "COPY layer is byte-identical");
    assert.equal(ca.created, (await config(sb.baseId)).created, "created defaults to the base image's");
    const same = sb.context({ Dockerfile: "FROM busybox\nCOPY f /f\nRUN mkdir -p /x && echo fixed > /x/y\n", f: "same" });
    const c = await sb.build({ contextDir: same, network: "none", noCache: true });
    const d = await sb.build({ contextDir: same, network: "none", noCache: true });
    assert.equal(c.report.id, d.report.id, "same context and base → same image ID");
  });

  test("a failing RUN names the line, keeps the output tail, and tags nothing", async () => {
    const ctx = sb.context({ Dockerfile: "FROM busybox\nWORKDIR /x\n\nRUN echo before-failing; exit 3\nRUN echo never\n" });
    const f = await sb.buildFails({ contextDir: ctx, tags: ["failing:1"], network: "none" });
    assert.equal(f.error.message, 'process "/bin/sh -c echo before-failing; exit 3" did not complete successfully: exit code: 3');
    assert.equal(f.error.detail?.["line"], 4);
    assert.equal(f.error.detail?.["file"], "Dockerfile");
    assert.deepEqual(f.error.detail?.["logTail"], ["before-failing"]);
    assert.equal(sb.engine.imageExists("failing:1"), false);
    assert.doesNotMatch(f.log, /echo never/);
    // A base that is neither local nor pullable (a registry on a closed loopback port: tests send no traffic elsewhere).
    const missing = await sb.buildFails({ contextDir: sb.context({ Dockerfile: "FROM 127.0.0.1:9/nosuchimage:1\n" }), network: "none" });
    assert.match(missing.error.message, /127\.0\.0\.1:9\/nosuchimage:1/);
    assert.equal((missing.error as { kind?: string }).kind, "unavailable");
    const nofile = await sb.buildFails({ contextDir: sb.context({ Dockerfile: "FROM busybox\nCOPY nope.txt /\n" }), network: "none" });
    assert.match(nofile.error.message, /"\/nope\.txt": not found/);
    const target = await sb.buildFails({ contextDir: sb.context({ Dockerfile: "FROM busybox AS a\n" }), target: "b", network: "none" });
    assert.match(target.error.message, /target stage "b" could not be found/);
  });

  test("heredocs in RUN; RUN --mount=type=cache, bind, tmpfs, secret", async () => {
    const secret = join(sb.dir, "token.txt");
    writeFileSync(secret, "s3cr3t\n");
    const ctx = sb.context({
      Dockerfile: [
        "FROM busybox",
        "RUN <<EOF",
        "echo one > /heredoc.txt",
        "echo two >> /heredoc.txt",
        "EOF",
        "RUN --mount=type=cache,target=/cache echo x >> /cache/count && wc -l < /cache/count > /count.txt",
        "RUN --mount=type=bind,source=data,target=/mnt cat /mnt/d.txt > /bound.txt",
        "RUN --mount=type=tmpfs,target=/scratch touch /scratch/t && grep -q ' /scratch tmpfs' /proc/mounts && echo ok > /tmpfs.txt",
        "RUN --mount=type=secret,id=tok cat /run/secrets/tok > /seen-secret.txt",
        "RUN --mount=type=secret,id=tok,env=TOK test \"$TOK\" = s3cr3t && echo env-ok > /secret-env.txt",
        "",
      ].join("\n"),
      "data/d.txt": "bound data\n",
    });
    const { fs } = await exportFs(ctx, { secrets: [{ id: "tok", src: secret }] });
    const read = (p: string) => readFileSync(join(fs, p), "utf8");
    assert.equal(read("heredoc.txt"), "one\ntwo\n");
    assert.equal(read("count.txt").trim(), "1");
    assert.equal(read("bound.txt"), "bound data\n");
    assert.equal(read("tmpfs.txt"), "ok\n");
    assert.equal(read("seen-secret.txt"), "s3cr3t\n");
    assert.equal(read("secret-env.txt"), "env-ok\n");
    assert.equal(existsSync(join(fs, "scratch/t")), false, "tmpfs content is not in the image");
    assert.equal(existsSync(join(fs, "run/secrets/tok")), false, "the secret is not in the image");
    assert.equal(existsSync(join(fs, "cache/count")), false, "the cache mount is not in the image");
    // The cache mount persists across builds (second run sees two lines).
    const again = await exportFs(ctx, { secrets: [{ id: "tok", src: secret }], noCache: true });
    assert.equal(readFileSync(join(again.fs, "count.txt"), "utf8").trim(), "2");
    assert.ok(lstatSync(join(again.fs, "bin/sh")).isSymbolicLink());
  });

  test("cancelling a running RUN stops it and leaves no mount, runc container, step dir or tag behind", async () => {
    const ctx = sb.context({ Dockerfile: "FROM busybox\nRUN echo started; sleep 60\n" });
    const ac = new AbortController();
    const t0 = Date.now();
    const p = imageBuild(sb.engine.ctx, {
      contextDir: ctx,
      tags: ["cancelled:1"],
      network: "none",
      signal: ac.signal,
      onProgress: (e) => {
        if (e.type === "log" && e.text === "started") ac.abort();
      },
    });
    await assert.rejects(p, (e: Error & { kind?: string }) => e.kind === "cancelled");
    assert.ok(Date.now() - t0 < 20_000, "the sleep was killed");
    const root = sb.engine.ctx.config.root;
    assert.doesNotMatch(readFileSync("/proc/self/mountinfo", "utf8"), new RegExp(root.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
    assert.deepEqual(readdirSync(join(root, "tmp")).filter((n) => n.startsWith("build-")), []);
    const runcRoot = join(sb.engine.ctx.config.runRoot, "runc-build");
    assert.deepEqual(existsSync(runcRoot) ? readdirSync(runcRoot) : [], []);
    assert.equal(sb.engine.imageExists("cancelled:1"), false);
  });
});
