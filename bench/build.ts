/**
 * Benchmark (issue 4): `build` of a walkthrough-like app (busybox base,
 * WORKDIR, COPY package.json, a RUN that stands in for `npm install`
 * writing 300 files, COPY of 50 source files, CMD):
 *   cold    --no-cache (base layer already unpacked)
 *   warm    the same build again: every step CACHED
 *   touch   one source file's content changed: the last COPY misses, the RUN hits
 * Whole processes, as a user runs them (Node start-up included): each sample
 * is `node bench/build.ts --child ...`, which runs the CLI's build verb.
 * With a running dockerd (`dockerd &`), the same three with
 * `DOCKER_BUILDKIT=1 docker build` for ratios.
 *
 *   node bench/build.ts          (root; BENCH_RUNS, default 5)
 */
import { execFileSync, spawnSync } from "node:child_process";
import { appendFileSync, createReadStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { FlagSet } from "../src/cli/flags.ts";
import { command } from "../src/cli/image/build.ts";
import { Engine, loadEngineConfig } from "../src/engine/index.ts";
import { makeBusyboxTar } from "../src/testing/busybox.ts";

if (process.argv[2] === "--child") {
  // One build, as the CLI runs it.
  const env = process.env as Record<string, string>;
  const config = loadEngineConfig(env);
  let engine: Engine | undefined;
  const sink = (s: NodeJS.WriteStream): Writable => s;
  const code = await command.run(
    {
      io: { stdin: Readable.from([]), stdout: sink(process.stdout), stderr: sink(process.stderr), env, signal: new AbortController().signal },
      config,
      prog: "berth",
      engine: async () => (engine ??= await Engine.open(config)),
    },
    new FlagSet(command.flags).parse(process.argv.slice(3)),
  );
  engine?.close();
  process.exit(code);
}

const RUNS = Number(process.env["BENCH_RUNS"] ?? 5);
const dir = mkdtempSync(join(tmpdir(), "berth-bench-build-"));
const env = { BERTH_ROOT: join(dir, "root"), BERTH_RUNROOT: join(dir, "run"), BERTH_CONFIG: join(dir, "none.json") };
const ctx = join(dir, "app");

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function time(argv: string[], extraEnv: Record<string, string> = {}): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0]!, argv.slice(1), { env: { ...process.env, ...extraEnv }, stdio: ["ignore", "ignore", "pipe"] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(" ")} failed (${r.status}): ${r.stderr.toString()}`);
  return ms;
}

try {
  mkdirSync(join(ctx, "app-code"), { recursive: true });
  writeFileSync(join(ctx, "package.json"), '{"name":"app","version":"1.0.0"}\n');
  for (let i = 0; i < 50; i++) writeFileSync(join(ctx, "app-code", `f${i}.js`), `module.exports = ${i};\n`.repeat(20));
  writeFileSync(join(ctx, "app-code", "server.js"), "console.log('hi');\n");
  writeFileSync(
    join(ctx, "Dockerfile"),
    [
      "FROM busybox",
      "WORKDIR /app",
      "COPY package.json ./",
      "RUN mkdir -p node_modules && for i in $(seq 1 300); do echo \"module $i\" > node_modules/m$i.js; done",
      "COPY ./app-code /app",
      'CMD ["node", "server.js"]',
      "",
    ].join("\n"),
  );
  const tar = join(dir, "busybox.tar");
  makeBusyboxTar(join(dir, "bb"), tar);
  const e = await Engine.open(loadEngineConfig(env));
  await e.imageImport({ source: createReadStream(tar), sourceName: "busybox.tar", reference: "busybox:latest" });
  e.close();

  const berth = (extra: string[]) => [process.execPath, "--disable-warning=ExperimentalWarning", import.meta.filename, "--child", "-q", "--network", "none", "-t", "my-app", ...extra, ctx];
  let touchN = 0;
  const touch = (): void => appendFileSync(join(ctx, "app-code", "server.js"), `// ${++touchN}\n`);
  time(berth([]), env); // warm-up: unpacks the base layer once
  const cold: number[] = [];
  const warm: number[] = [];
  const touched: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    cold.push(time(berth(["--no-cache"]), env));
    warm.push(time(berth([]), env));
    touch();
    touched.push(time(berth([]), env));
  }
  const node = time([process.execPath, "-e", "0"]);
  const line = (name: string, xs: number[]) => `${name.padEnd(8)} median ${median(xs).toFixed(0).padStart(6)} ms  (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})`;
  console.log(`berth build, ${RUNS} runs each (Node start-up alone: ${node.toFixed(0)} ms)`);
  console.log(line("cold", cold));
  console.log(line("warm", warm));
  console.log(line("touch", touched));

  const docker = spawnSync("docker", ["info", "--format", "{{.ServerVersion}}"], { encoding: "utf8" });
  if (docker.status === 0) {
    execFileSync("docker", ["import", tar, "busybox:latest"], { stdio: "ignore" });
    const d = (extra: string[]) => ["docker", "build", "-q", "-t", "my-app-docker", ...extra, ctx];
    const denv = { DOCKER_BUILDKIT: "1" };
    time(d([]), denv);
    const dc: number[] = [];
    const dw: number[] = [];
    const dt: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      dc.push(time(d(["--no-cache"]), denv));
      dw.push(time(d([]), denv));
      touch();
      dt.push(time(d([]), denv));
    }
    console.log(`docker ${docker.stdout.trim()} (BuildKit)`);
    console.log(line("cold", dc));
    console.log(line("warm", dw));
    console.log(line("touch", dt));
    console.log(`ratios berth/docker: cold ${(median(cold) / median(dc)).toFixed(2)}x, warm ${(median(warm) / median(dw)).toFixed(2)}x, touch ${(median(touched) / median(dt)).toFixed(2)}x`);
  } else {
    console.log("docker: no running dockerd (start `dockerd &` for ratios)");
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
