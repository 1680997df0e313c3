import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { kindOf } from "../../core/errors.ts";
import {
  expandInstruction,
  parseDockerfile,
  parseDuration,
  parseRunMount,
  platformArgs,
  resolveStageArg,
  type Instruction,
  type Stage,
} from "./instructions.ts";

/** Parses a one-stage Dockerfile and returns its commands. */
function cmds(body: string, opts: Parameters<typeof parseDockerfile>[1] = {}): readonly Instruction[] {
  const df = parseDockerfile(`FROM scratch\n${body}\n`, opts);
  return df.stages[0]?.commands ?? [];
}
function one<K extends Instruction["kind"]>(body: string, kind: K): Extract<Instruction, { kind: K }> {
  const c = cmds(body);
  assert.equal(c.length, 1);
  assert.equal(c[0]?.kind, kind);
  return c[0] as Extract<Instruction, { kind: K }>;
}
/** Asserts a located invalid-parameter error at `line` whose reason contains `reason`. */
function throwsAt(fn: () => unknown, line: number, reason: string, file = "Dockerfile"): void {
  assert.throws(fn, (e: unknown) => {
    assert.equal(kindOf(e), "invalid-parameter", String(e));
    const err = e as Error & { detail?: Record<string, unknown> };
    assert.ok(err.message.startsWith(`${file}:${line}: `), `want line ${line}: ${err.message}`);
    assert.ok(err.message.includes(reason), `want ${JSON.stringify(reason)} in ${err.message}`);
    assert.equal(err.detail?.["line"], line);
    assert.equal(err.detail?.["file"], file);
    return true;
  });
}

// --- negative golden directory --------------------------------------------

const negative = new URL("./testdata-negative/", import.meta.url);
const negCases = readdirSync(negative, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

test("negative cases exist", () => assert.ok(negCases.length >= 20));
for (const name of negCases) {
  test(`negative: ${name}`, () => {
    const dir = new URL(`${name}/`, negative);
    const [line, reason] = readFileSync(new URL("error.txt", dir), "utf8").split("\n");
    throwsAt(() => parseDockerfile(readFileSync(new URL("Dockerfile", dir)), { file: "Dockerfile" }), Number(line), reason ?? "");
  });
}

test("the error names the file given", () => {
  throwsAt(() => parseDockerfile("FROM a\nRUUN x\n", { file: "build/web.Dockerfile" }), 2, "unknown instruction: RUUN", "build/web.Dockerfile");
});

test("unknown instruction without a close match has no suggestion", () => {
  assert.throws(() => parseDockerfile("FROM a\nXYZZYQ x\n"), { message: "Dockerfile:2: unknown instruction: XYZZYQ" });
});

// --- the walkthrough ---------------------------------------------------------

test("walkthrough Dockerfile", () => {
  const df = parseDockerfile('FROM node\nWORKDIR /app\nCOPY ./app-code /app\nRUN npm install\nCMD ["node", "server.js"]\n', { buildArgs: {} });
  assert.equal(df.stages.length, 1);
  const st = df.stages[0] as Stage;
  assert.equal(st.baseName, "node");
  assert.equal(st.name, undefined);
  assert.equal(st.index, 0);
  assert.equal(df.targetIndex, 0);
  assert.deepEqual(st.location.start, { line: 1, character: 0 });
  assert.deepEqual(st.commands.map((c) => c.kind), ["workdir", "copy", "run", "cmd"]);
  const [wd, cp, run, cmd] = st.commands;
  assert.ok(wd?.kind === "workdir" && wd.path === "/app");
  assert.ok(cp?.kind === "copy");
  assert.deepEqual(cp.sources, ["./app-code"]);
  assert.equal(cp.dest, "/app");
  assert.equal(cp.from, undefined);
  assert.ok(run?.kind === "run");
  assert.deepEqual(run.command, { args: ["npm install"], prependShell: true });
  assert.deepEqual(run.mounts, []);
  assert.ok(cmd?.kind === "cmd");
  assert.deepEqual(cmd.command, { args: ["node", "server.js"], prependShell: false });
  assert.deepEqual(cmd.location, { start: { line: 5, character: 0 }, end: { line: 5, character: 25 } });
  assert.deepEqual(df.warnings, []);
});

// --- FROM, stages, meta ARGs, target -----------------------------------------

test("FROM expands global ARGs; build args override defaults; undeclared build args are ignored", () => {
  const src = "ARG BASE=alpine\nARG TAG=3.19\nARG FULL=${BASE}:${TAG}\nFROM ${FULL} AS one\nFROM ${UNDECLARED:-busybox}\n";
  const df = parseDockerfile(src, { buildArgs: { TAG: "3.20", UNDECLARED: "nope" } });
  assert.equal(df.stages[0]?.baseName, "alpine:3.20");
  assert.deepEqual(df.stages[0]?.usedArgs, ["FULL"]);
  assert.equal(df.stages[1]?.baseName, "busybox");
  assert.equal(df.metaArgs.length, 3);
  assert.equal(df.globalArgs.get("FULL"), "alpine:3.20");
  assert.equal(df.globalArgs.has("UNDECLARED"), false);
});

test("FROM --platform sees the automatic platform ARGs", () => {
  const df = parseDockerfile("FROM --platform=$BUILDPLATFORM golang AS b\nFROM --platform=${TARGETOS}/${TARGETARCH} alpine\n", {
    platform: { build: { os: "linux", architecture: "amd64" }, target: { os: "linux", architecture: "arm", variant: "v7" } },
  });
  assert.equal(df.stages[0]?.platform, "linux/amd64");
  assert.equal(df.stages[0]?.from.platform, "$BUILDPLATFORM");
  assert.equal(df.stages[1]?.platform, "linux/arm");
  assert.equal(df.globalArgs.get("TARGETPLATFORM"), "linux/arm/v7");
  assert.equal(df.globalArgs.get("TARGETVARIANT"), "v7");
});

test("platformArgs defaults to linux/amd64 for both", () => {
  assert.deepEqual(platformArgs(), {
    BUILDPLATFORM: "linux/amd64", BUILDOS: "linux", BUILDARCH: "amd64", BUILDVARIANT: "",
    TARGETPLATFORM: "linux/amd64", TARGETOS: "linux", TARGETARCH: "amd64", TARGETVARIANT: "",
  });
});

test("stage names are lowercased, target selects an index", () => {
  const df = parseDockerfile("FROM a AS Build\nFROM build AS final\nFROM c\n", { target: "BUILD" });
  assert.deepEqual(df.stages.map((s) => s.name), ["build", "final", undefined]);
  assert.equal(df.targetIndex, 0);
  assert.equal(parseDockerfile("FROM a AS x\nFROM b\n").targetIndex, 1);
  assert.throws(() => parseDockerfile("FROM a AS x\n", { target: "y" }), (e: unknown) => kindOf(e) === "invalid-parameter" && /target stage "y" could not be found/.test(String(e)));
});

test("warnings: stage name casing, AS casing, MAINTAINER, legacy ENV", () => {
  const df = parseDockerfile("FROM a as Foo\nMAINTAINER me\nENV K v\nLABEL k=v\n");
  assert.deepEqual(df.warnings.map((w) => [w.range.start.line, w.short.slice(0, 30)]), [
    [1, "Stage name should be lowercase"],
    [1, "The 'as' keyword should match "],
    [2, "The MAINTAINER instruction is "],
    [3, '"ENV key=value" should be used'],
  ]);
});

test("resolveStageArg precedence: build arg, default, global", () => {
  const scope = { buildArgs: { A: "build" }, globalArgs: new Map([["A", "g"], ["B", "g"], ["C", "g"]]) };
  assert.equal(resolveStageArg("A", "def", scope), "build");
  assert.equal(resolveStageArg("B", "def", scope), "def");
  assert.equal(resolveStageArg("C", undefined, scope), "g");
  assert.equal(resolveStageArg("D", undefined, scope), undefined);
});

// --- one table per instruction -------------------------------------------------

test("RUN: shell and exec form, heredocs chomped", () => {
  assert.deepEqual(one("RUN echo hi", "run").command, { args: ["echo hi"], prependShell: true });
  assert.deepEqual(one('RUN ["a", "b c"]', "run").command, { args: ["a", "b c"], prependShell: false });
  const r = one("RUN <<-EOF bash\n\techo x\n\tEOF", "run");
  assert.equal(r.heredocs[0]?.content, "echo x\n");
  assert.deepEqual(r.command.args, ["<<-EOF bash"]);
  throwsAt(() => cmds("RUN"), 2, "RUN requires at least one argument");
});

test("RUN --network and --security", () => {
  assert.equal(one("RUN --network=none true", "run").network, "none");
  assert.equal(one("RUN --network=host true", "run").network, "host");
  assert.equal(one("RUN --network=default true", "run").network, "default");
  assert.equal(one("RUN true", "run").network, undefined);
  assert.equal(one("RUN --security=insecure true", "run").security, "insecure");
  throwsAt(() => cmds("RUN --security=root true"), 2, 'unsupported security mode "root"');
  throwsAt(() => cmds("RUN --network true"), 2, "Missing a value on flag: network");
});

test("RUN --mount: every type, defaults and options", () => {
  const table: [string, object][] = [
    ["type=cache,target=/root/.cache", { type: "cache", target: "/root/.cache", readOnly: false, id: "/root/.cache", sharing: "shared", mode: 0o755 }],
    ["type=cache,id=go,dst=/go/pkg,sharing=locked,mode=0700,uid=1000,gid=1000,from=base,source=/c", { type: "cache", target: "/go/pkg", readOnly: false, id: "go", sharing: "locked", mode: 0o700, uid: 1000, gid: 1000, from: "base", source: "/c" }],
    ["target=/src", { type: "bind", target: "/src", readOnly: true }],
    ["type=bind,source=/app,target=/src,from=build,rw", { type: "bind", target: "/src", source: "/app", from: "build", readOnly: false }],
    ["type=bind,target=/src,readonly=false", { type: "bind", target: "/src", readOnly: false }],
    ["type=tmpfs,target=/tmp,size=64m", { type: "tmpfs", target: "/tmp", readOnly: false, size: 64 * 1024 * 1024 }],
    ["type=secret,id=aws", { type: "secret", target: "/run/secrets/aws", id: "aws", readOnly: true, mode: 0o400 }],
    ["type=secret,target=/root/.npmrc,required", { type: "secret", target: "/root/.npmrc", id: ".npmrc", readOnly: true, mode: 0o400, required: true }],
    ["type=secret,id=tok,env=TOKEN", { type: "secret", target: "", id: "tok", env: "TOKEN", readOnly: true, mode: 0o400 }],
    ["type=ssh", { type: "ssh", target: "/run/buildkit/ssh_agent.0", id: "default", readOnly: true, mode: 0o600 }],
    ['"type=bind","target=/a,b"', { type: "bind", target: "/a,b", readOnly: true }],
  ];
  for (const [spec, want] of table) assert.deepEqual(parseRunMount(spec), want, spec);
  const bad: [string, string][] = [
    ["type=cache", "mount type=cache requires a target"],
    ["type=bind", "mount type=bind requires a target"],
    ["type=nfs,target=/x", 'unsupported mount type "nfs"'],
    ["type=cache,target=/x,sharing=global", 'unsupported sharing value "global"'],
    ["type=cache,target=/x,mode=999", "invalid value for mode: 999"],
    ["type=cache,target=/x,uid=-1", "invalid value for uid: -1"],
    ["type=bind,target=/x,size=1m", "unexpected key 'size'"],
    ["type=tmpfs,target=/x,from=a", "'from' is not supported for tmpfs mounts"],
    ["type=secret,id=a,rw", "secret mounts can only be read-only"],
    ["type=cache,target", "invalid field 'target' must be a key=value pair"],
    ['type=bind,"target=/x', "quoted-field"],
  ];
  for (const [spec, msg] of bad) assert.throws(() => parseRunMount(spec), (e: unknown) => String(e).includes(msg), spec);
  const r = one("RUN --mount=type=cache,target=/a --mount=type=secret,id=s --mount=type=ssh --mount=type=ssh,id=b true", "run");
  assert.deepEqual(r.mounts.map((m) => [m.type, m.target]), [["cache", "/a"], ["secret", "/run/secrets/s"], ["ssh", "/run/buildkit/ssh_agent.0"], ["ssh", "/run/buildkit/ssh_agent.1"]]);
  throwsAt(() => cmds("RUN --mount=type=cache true"), 2, "requires a target");
});

test("CMD and ENTRYPOINT", () => {
  assert.deepEqual(one("CMD echo $HOME", "cmd").command, { args: ["echo $HOME"], prependShell: true });
  assert.deepEqual(one('CMD ["a"]', "cmd").command, { args: ["a"], prependShell: false });
  assert.deepEqual(one("CMD []", "cmd").command, { args: [], prependShell: false });
  assert.deepEqual(one('ENTRYPOINT ["/bin/app", "--flag"]', "entrypoint").command, { args: ["/bin/app", "--flag"], prependShell: false });
  assert.deepEqual(one("ENTRYPOINT exec app", "entrypoint").command, { args: ["exec app"], prependShell: true });
  throwsAt(() => cmds("CMD --x=1 a"), 2, "unknown flag: x");
});

test("ENV: pairs, legacy form, blank names", () => {
  assert.deepEqual(one('ENV A=1 B="two words" C=', "env").pairs, [{ key: "A", value: "1" }, { key: "B", value: '"two words"' }, { key: "C", value: "" }]);
  assert.deepEqual(one("ENV A some value", "env").pairs, [{ key: "A", value: "some value" }]);
  throwsAt(() => cmds("ENV =x"), 2, "ENV names can not be blank");
  throwsAt(() => cmds("ENV"), 2, "ENV requires at least one argument");
});

test("ARG: several, with and without defaults", () => {
  assert.deepEqual(one('ARG A B=2 C="x y" D=', "arg").args, [{ key: "A" }, { key: "B", value: "2" }, { key: "C", value: '"x y"' }, { key: "D", value: "" }]);
  throwsAt(() => cmds("ARG"), 2, "ARG requires at least one argument");
});

test("LABEL, EXPOSE, USER, WORKDIR, STOPSIGNAL, MAINTAINER, VOLUME, SHELL", () => {
  assert.deepEqual(one('LABEL a=b "c d"=e', "label").pairs, [{ key: "a", value: "b" }, { key: '"c d"', value: "e" }]);
  assert.deepEqual(one("EXPOSE 80 443/tcp 22", "expose").ports, ["22", "443/tcp", "80"]);
  assert.equal(one("USER 1000:1000", "user").user, "1000:1000");
  assert.equal(one("WORKDIR /a b", "workdir").path, "/a b");
  assert.equal(one("STOPSIGNAL SIGKILL", "stopsignal").signal, "SIGKILL");
  assert.equal(one("MAINTAINER Jane <j@x>", "maintainer").maintainer, "Jane <j@x>");
  assert.deepEqual(one('VOLUME ["/a", "/b"]', "volume").volumes, ["/a", "/b"]);
  assert.deepEqual(one("VOLUME /a /b", "volume").volumes, ["/a", "/b"]);
  assert.deepEqual(one('SHELL ["pwsh", "-c"]', "shell").shell, ["pwsh", "-c"]);
  throwsAt(() => cmds('VOLUME [""]'), 2, "VOLUME specified can not be an empty string");
  throwsAt(() => cmds("SHELL []"), 2, "SHELL requires at least one argument");
  throwsAt(() => cmds("USER"), 2, "USER requires exactly one argument");
  throwsAt(() => cmds("STOPSIGNAL"), 2, "STOPSIGNAL requires exactly one argument");
  throwsAt(() => cmds("LABEL"), 2, "LABEL requires at least one argument");
});

test("HEALTHCHECK: durations, retries, CMD forms, NONE", () => {
  const h = one("HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=2s --start-interval=1.5s --retries=4 CMD curl -f localhost", "healthcheck");
  assert.deepEqual(h.test, ["CMD-SHELL", "curl -f localhost"]);
  assert.equal(h.interval, 90e9);
  assert.equal(h.timeout, 500e6);
  assert.equal(h.startPeriod, 2e9);
  assert.equal(h.startInterval, 1.5e9);
  assert.equal(h.retries, 4);
  const j = one('HEALTHCHECK CMD ["/bin/check", "-q"]', "healthcheck");
  assert.deepEqual(j.test, ["CMD", "/bin/check", "-q"]);
  assert.equal(j.interval, undefined);
  assert.deepEqual(one("HEALTHCHECK NONE", "healthcheck").test, ["NONE"]);
  assert.equal(one("HEALTHCHECK --interval=0 CMD true", "healthcheck").interval, 0);
  throwsAt(() => cmds("HEALTHCHECK NONE extra"), 2, "HEALTHCHECK NONE takes no arguments");
  throwsAt(() => cmds("HEALTHCHECK CMD"), 2, "Missing command after HEALTHCHECK CMD");
  throwsAt(() => cmds("HEALTHCHECK --retries=-1 CMD true"), 2, "--retries cannot be negative (-1)");
  throwsAt(() => cmds("HEALTHCHECK --retries=x CMD true"), 2, 'parsing "x": invalid syntax');
  throwsAt(() => cmds("HEALTHCHECK --intervall=1s CMD true"), 2, "unknown flag: intervall");
  throwsAt(() => cmds("HEALTHCHECK"), 2, "HEALTHCHECK requires at least one argument");
});

test("parseDuration follows Go's time.ParseDuration", () => {
  const table: [string, number][] = [["0", 0], ["1s", 1e9], ["1.5h", 5400e9], ["2h45m", 9900e9], ["100ms", 1e8], ["10us", 1e4], ["10µs", 1e4], ["7ns", 7], [".5s", 5e8], ["-1s", -1e9]];
  for (const [s, ns] of table) assert.equal(parseDuration(s), ns, s);
  for (const s of ["", "1", "s", "1x", "1s2", " 1s"]) assert.throws(() => parseDuration(s), /invalid duration/, s);
});

test("ONBUILD: nested instruction parsed, expression kept", () => {
  const o = one("ONBUILD RUN echo $X", "onbuild");
  assert.equal(o.expression, "RUN echo $X");
  assert.equal(o.trigger.kind, "run");
  assert.equal(one("onbuild copy --from=x a b", "onbuild").trigger.kind, "copy");
  throwsAt(() => cmds("ONBUILD MAINTAINER me"), 2, "MAINTAINER isn't allowed as an ONBUILD trigger");
  throwsAt(() => cmds("ONBUILD"), 2, "ONBUILD requires at least one argument");
  throwsAt(() => cmds("ONBUILD RUUN x"), 2, "unknown instruction: RUUN");
});

test("COPY: flags, sources, heredoc sources, JSON form", () => {
  const c = one("COPY --from=build --chown=app:app --chmod=0755 --link --exclude=*.md --exclude=tmp --parents a b/ /dst/", "copy");
  assert.deepEqual(
    { from: c.from, chown: c.chown, chmod: c.chmod, link: c.link, exclude: c.exclude, parents: c.parents, sources: c.sources, dest: c.dest },
    { from: "build", chown: "app:app", chmod: "0755", link: true, exclude: ["*.md", "tmp"], parents: true, sources: ["a", "b/"], dest: "/dst/" },
  );
  const plain = one("COPY --link=false x y", "copy");
  assert.equal(plain.link, false);
  assert.equal(plain.parents, false);
  assert.deepEqual(one('COPY ["my file", "/dst dir/"]', "copy").sources, ["my file"]);
  const h = one("COPY <<EOF <<-'RAW' src /dst/\nhello $X\nEOF\n\traw $Y\n\tRAW", "copy");
  assert.deepEqual(h.sources, ["src"]);
  assert.deepEqual(h.heredocSources, [{ path: "EOF", data: "hello $X\n", expand: true }, { path: "RAW", data: "raw $Y\n", expand: false }]);
  assert.equal(h.dest, "/dst/");
  throwsAt(() => cmds("COPY"), 2, "COPY requires at least two arguments, but only one was provided");
  throwsAt(() => cmds("COPY --checksum=sha256:x a b"), 2, "unknown flag: checksum");
  throwsAt(() => cmds("COPY --link=maybe a b"), 2, "expecting boolean value for flag link, not: maybe");
});

test("ADD: --checksum, --keep-git-dir, no --from", () => {
  const a = one("ADD --checksum=sha256:abc --keep-git-dir --chown=1 https://x/y.tar.gz /", "add");
  assert.equal(a.checksum, "sha256:abc");
  assert.equal(a.keepGitDir, true);
  assert.equal(a.chown, "1");
  assert.deepEqual(a.sources, ["https://x/y.tar.gz"]);
  throwsAt(() => cmds("ADD --from=x a b"), 2, "unknown flag: from");
  throwsAt(() => cmds("ADD only"), 2, "ADD requires at least two arguments, but only one was provided. Destination could not be determined.");
});

// --- expansion: exactly where Docker expands ---------------------------------

const env = { NAME: "app", DIR: "/srv", EMPTY: "", PORT: "8080", SPACE: "a b", U: "1000", SIG: "SIGINT" };
const expanded = <T extends Instruction>(i: T) => expandInstruction(i, env).instruction;

test("expands COPY/ADD sources, dest, flags and unquoted heredoc bodies", () => {
  const c = expanded(one('COPY --from=$NAME --chown=$U:$U --chmod=${MODE:-644} --exclude=$NAME.md "$DIR/a" ${DIR}/b $DIR/$NAME/', "copy"));
  assert.deepEqual([c.from, c.chown, c.chmod, c.exclude, c.sources, c.dest], ["app", "1000:1000", "644", ["app.md"], ["/srv/a", "/srv/b"], "/srv/app/"]);
  const h = expanded(one("COPY <<A <<'B' /x/\n$NAME\nA\n$NAME\nB", "copy"));
  assert.deepEqual(h.heredocSources.map((s) => s.data), ["app\n", "$NAME\n"]);
  const a = expanded(one("ADD --checksum=$SUM src $DIR", "add"));
  assert.deepEqual([a.checksum, a.dest], ["", "/srv"]);
});

test("ENV/LABEL pairs all see the environment before the instruction", () => {
  const e = expandInstruction(one('ENV NAME=new OTHER=$NAME "Q"="$SPACE" LIT=\'$NAME\'', "env"), env);
  assert.deepEqual(e.instruction.pairs, [{ key: "NAME", value: "new" }, { key: "OTHER", value: "app" }, { key: "Q", value: "a b" }, { key: "LIT", value: "$NAME" }]);
  assert.deepEqual([...e.matched], ["NAME", "SPACE"]);
  assert.deepEqual(expanded(one("ENV LEGACY $DIR/bin x", "env")).pairs, [{ key: "LEGACY", value: "/srv/bin x" }]);
  assert.deepEqual(expanded(one("LABEL $NAME.version=${V:-1}", "label")).pairs, [{ key: "app.version", value: "1" }]);
});

test("expands ARG defaults, EXPOSE, USER, WORKDIR, STOPSIGNAL, VOLUME", () => {
  assert.deepEqual(expanded(one("ARG A=$DIR B", "arg")).args, [{ key: "A", value: "/srv" }, { key: "B" }]);
  assert.deepEqual(expanded(one("EXPOSE $PORT ${PORT}/udp", "expose")).ports, ["8080", "8080/udp"]);
  assert.equal(expanded(one("USER $U", "user")).user, "1000");
  assert.equal(expanded(one("WORKDIR $DIR/$NAME", "workdir")).path, "/srv/app");
  assert.equal(expanded(one("STOPSIGNAL $SIG", "stopsignal")).signal, "SIGINT");
  assert.deepEqual(expanded(one('VOLUME ["$DIR/data"]', "volume")).volumes, ["/srv/data"]);
  throwsAt(() => expandInstruction(one("VOLUME $EMPTY", "volume"), env), 2, "VOLUME specified can not be an empty string");
});

test("never expands RUN commands, CMD, ENTRYPOINT, SHELL, HEALTHCHECK, ONBUILD, MAINTAINER", () => {
  for (const body of ["RUN echo $NAME", "CMD echo $NAME", 'ENTRYPOINT ["$NAME"]', 'SHELL ["$NAME"]', "HEALTHCHECK CMD $NAME", "ONBUILD WORKDIR $DIR", "MAINTAINER $NAME", "RUN <<EOF\n$NAME\nEOF"]) {
    const i = one(body, cmds(body)[0]?.kind ?? "run");
    const e = expandInstruction(i, env);
    assert.deepEqual(e.instruction, i, body);
    assert.equal(e.matched.size, 0, body);
  }
});

test("RUN --mount values are expanded, keys are not", () => {
  const r = expandInstruction(one("RUN --mount=type=cache,target=$DIR/cache,id=${NAME}-c echo $NAME", "run"), env);
  assert.deepEqual(r.instruction.mounts[0], { type: "cache", target: "/srv/cache", id: "app-c", readOnly: false, sharing: "shared", mode: 0o755 });
  assert.deepEqual(r.instruction.command.args, ["echo $NAME"]);
  assert.deepEqual([...r.matched].sort(), ["DIR", "NAME"]);
});

test("expansion reports used and unset variables; errors are located", () => {
  const e = expandInstruction(one("WORKDIR ${DIR}/${MISSING}", "workdir"), env);
  assert.deepEqual([...e.matched], ["DIR"]);
  assert.deepEqual([...e.unmatched], ["MISSING"]);
  throwsAt(() => expandInstruction(one("USER ${REQ:?must be set}", "user"), env), 2, "REQ: must be set");
});

test("escape directive applies to expansion", () => {
  const df = parseDockerfile("# escape=`\nARG D=c:\\dir\nFROM scratch\nWORKDIR $D\\sub\n");
  assert.equal(df.directives.escape, "`");
  assert.equal(df.globalArgs.get("D"), "c:\\dir");
  const wd = df.stages[0]?.commands[0];
  assert.ok(wd?.kind === "workdir");
  assert.equal(expandInstruction(wd, { D: "c:\\dir" }, { escape: "`" }).instruction.path, "c:\\dir\\sub");
});
