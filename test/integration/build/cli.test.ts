/**
 * The `build` verb as a user runs it (flags parsed by the CLI's FlagSet, the
 * verb's run() against a private root): -q, -t twice, --iidfile, -f -, a tar
 * context on stdin, --progress=plain, SOURCE_DATE_EPOCH, -o type=docker,
 * and BuildKit's error block with exit code 1 for a failing RUN.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createReadStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { command } from "../../../src/cli/image/build.ts";
import type { CliContext } from "../../../src/cli/context.ts";
import { FlagSet } from "../../../src/cli/flags.ts";
import { Engine, loadEngineConfig } from "../../../src/engine/index.ts";
import { makeBusyboxTar } from "../../../src/testing/busybox.ts";
import { requires } from "../../../src/testing/requires.ts";

const skip = requires("root", "runc", "overlay", "busybox");

describe("berth build (CLI)", { skip }, () => {
  let dir: string;
  const envBase = (): Record<string, string> => ({ BERTH_ROOT: join(dir, "root"), BERTH_RUNROOT: join(dir, "run"), BERTH_CONFIG: join(dir, "none.json") });

  const run = async (args: string[], o: { stdin?: Buffer; env?: Record<string, string> } = {}): Promise<{ code: number; stdout: string; stderr: string }> => {
    const env = { ...envBase(), ...(o.env ?? {}) };
    let stdout = "";
    let stderr = "";
    const sink = (f: (s: string) => void) => new Writable({ write(c, _e, cb) { f(String(c)); cb(); } });
    const config = loadEngineConfig(env);
    let engine: Engine | undefined;
    const ctx: CliContext = {
      io: {
        stdin: o.stdin === undefined ? Readable.from([]) : Readable.from([o.stdin]),
        stdout: sink((s) => (stdout += s)),
        stderr: sink((s) => (stderr += s)),
        env,
        signal: new AbortController().signal,
      },
      config,
      prog: "berth",
      engine: async () => (engine ??= await Engine.open(config)),
    };
    try {
      const parsed = new FlagSet(command.flags).parse(args);
      const code = await command.run(ctx, parsed);
      return { code, stdout, stderr };
    } finally {
      engine?.close();
    }
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "berth-build-cli-"));
    const tar = join(dir, "busybox.tar");
    makeBusyboxTar(join(dir, "bb"), tar);
    const e = await Engine.open(loadEngineConfig({ ...envBase(), SOURCE_DATE_EPOCH: "1700000000" }));
    await e.imageImport({ source: createReadStream(tar), sourceName: "busybox.tar", reference: "busybox" });
    e.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const ctxDir = (files: Record<string, string>): string => {
    const d = mkdtempSync(join(dir, "ctx-"));
    for (const [p, c] of Object.entries(files)) {
      mkdirSync(join(d, p, ".."), { recursive: true });
      writeFileSync(join(d, p), c);
    }
    return d;
  };

  test("-q prints only the image ID; -t twice tags both; --iidfile; created from SOURCE_DATE_EPOCH", async () => {
    const d = ctxDir({ Dockerfile: "FROM busybox\nCOPY a /a\n", a: "x" });
    const iid = join(dir, "iid");
    const r = await run(["-q", "-t", "app:1", "-t", "registry.example.com/team/app:2", "--iidfile", iid, "--network", "none", d], { env: { SOURCE_DATE_EPOCH: "1234567890" } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^sha256:[a-f0-9]{64}\n$/);
    assert.equal(r.stderr, "");
    assert.equal(readFileSync(iid, "utf8"), r.stdout.trim());
    const e = await Engine.open(loadEngineConfig(envBase()));
    try {
      assert.equal(e.imageResolve("app:1").id, r.stdout.trim());
      assert.equal(e.imageResolve("registry.example.com/team/app:2").id, r.stdout.trim());
      const inspect = await e.imageInspect("app:1");
      assert.equal(new Date(inspect.Created).getTime(), 1234567890 * 1000);
    } finally {
      e.close();
    }
  });

  test("--progress=plain prints BuildKit's lines to stderr; a tar context on stdin; -f names a Dockerfile inside it", async () => {
    const d = ctxDir({ "build/app.Dockerfile": "FROM busybox\nRUN echo from-stdin-context\n", "data.txt": "d" });
    const tar = execFileSync("tar", ["-C", d, "-cf", "-", "."]);
    const r = await run(["--progress=plain", "-f", "build/app.Dockerfile", "-t", "stdin-ctx", "--network", "none", "-"], { stdin: tar });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^#1 \[internal\] load build definition from app\.Dockerfile\n/);
    assert.match(r.stderr, /#5 \[2\/2\] RUN echo from-stdin-context\n#5 cache miss: [^\n]+\n#5 \d+\.\d{3} from-stdin-context\n#5 DONE \d+\.\d+s\n/);
    assert.match(r.stderr, /naming to docker\.io\/library\/stdin-ctx:latest done/);
  });

  test("-f - reads the Dockerfile from stdin; -o type=docker writes a loadable archive", async () => {
    const d = ctxDir({ a: "x" });
    const out = join(dir, "out.tar");
    const r = await run(["-q", "-f", "-", "-o", `type=docker,dest=${out}`, "-t", "exported:1", d], { stdin: Buffer.from("FROM busybox\nCOPY a /a\n") });
    assert.equal(r.code, 0, r.stderr);
    const names = execFileSync("tar", ["-tf", out]).toString();
    assert.match(names, /manifest\.json/);
    assert.match(names, /index\.json/);
  });

  test("a failing RUN prints the output tail, the Dockerfile context and ERROR: failed to solve, exits 1", async () => {
    const d = ctxDir({ Dockerfile: "FROM busybox\n\nRUN echo about to fail\nRUN exit 3\nCMD [\"true\"]\n" });
    const r = await run(["--progress=plain", "-t", "broken", "--network", "none", d]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ERROR: failed to solve: process "\/bin\/sh -c exit 3" did not complete successfully: exit code: 3\n$/);
    assert.match(r.stderr, /Dockerfile:4\n--------------------\n/);
    assert.match(r.stderr, / 4 \| >>> RUN exit 3\n/);
    assert.match(r.stderr, / 3 \|     RUN echo about to fail\n/);
    const e = await Engine.open(loadEngineConfig(envBase()));
    try {
      assert.equal(e.imageExists("broken"), false);
    } finally {
      e.close();
    }
  });

  test("flag errors: unsupported output type, stdin for both, remote contexts", async () => {
    await assert.rejects(run(["-o", "type=registry,dest=x", "."]), /unsupported output type registry/);
    await assert.rejects(run(["-f", "-", "-"]), /can't use stdin for both/);
    await assert.rejects(run(["https://example.com/repo.git"]), /remote build contexts are not supported/);
  });
});


