/**
 * Benchmark (issue 3, and the side-by-side run for issues 2-5): container
 * latency through the real CLI, berth and (with --with-docker) Docker in turn.
 *
 *   node bench/run.ts                 berth only
 *   node bench/run.ts --with-docker   also Docker: a private dockerd (bench/docker.ts), started for the
 *                                     measurement and stopped after, FORWARD policy restored
 *   node bench/run.ts --with-docker --all   and then bench/build.ts and bench/pull.ts against it
 *
 * Measures (medians of BENCH_RUNS, default 15; whole processes, Node start-up included):
 *   run --rm busybox true                       default bridge network, and --network none
 *   20 detached containers                      20 x `run -d busybox sleep 600` then one `rm -f` of all
 *   images, image inspect busybox
 * Docker gets the same busybox image (`berth save` | `docker load`: no Docker Hub here).
 * Root only (runc, overlayfs, CNI).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { makeBusyboxTar } from "../src/testing/busybox.ts";
import { startDocker, type PrivateDocker } from "./docker.ts";
import { report, timeCommands, type Timing } from "./timing.ts";

const args = process.argv.slice(2);
const WITH_DOCKER = args.includes("--with-docker");
const ALL = args.includes("--all");
const RUNS = Number(process.env["BENCH_RUNS"] ?? 15);
const dir = mkdtempSync(join(tmpdir(), "berth-bench-run-"));
const benv = { BERTH_ROOT: join(dir, "root"), BERTH_RUNROOT: join(dir, "run"), BERTH_CONFIG: join(dir, "none.json") };
const berthArgv = [process.execPath, "--disable-warning=ExperimentalWarning", resolve(import.meta.dirname, "../src/bin/berth.mjs")];

function sh(argv: string[], env: Record<string, string>, input?: Buffer): string {
  return execFileSync(argv[0]!, argv.slice(1), { env: { ...process.env, ...env }, encoding: "utf8", ...(input === undefined ? {} : { input }), maxBuffer: 1 << 28 });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** 20 x `run -d` then one `rm -f`: wall times of both phases. */
function twenty(cli: string[], env: Record<string, string>): { start: number; remove: number } {
  const ids: string[] = [];
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) ids.push(sh([...cli, "run", "-d", "busybox", "sleep", "600"], env).trim());
  const t1 = performance.now();
  sh([...cli, "rm", "-f", ...ids], env);
  return { start: t1 - t0, remove: performance.now() - t1 };
}

let docker: PrivateDocker | undefined;
try {
  makeBusyboxTar(join(dir, "bb"), join(dir, "busybox.tar"));
  sh([...berthArgv, "import", join(dir, "busybox.tar"), "busybox"], benv);
  const dcli: string[] = [];
  let denv: Record<string, string> = {};
  if (WITH_DOCKER) {
    docker = await startDocker(join(dir, "docker"));
    dcli.push(docker.cli);
    denv = docker.env;
    const saved = execFileSync(berthArgv[0]!, [...berthArgv.slice(1), "save", "busybox"], { env: { ...process.env, ...benv }, maxBuffer: 1 << 28 });
    sh([...dcli, "load"], denv, saved);
    console.log(`docker ${sh([...dcli, "version", "--format", "{{.Server.Version}}"], denv).trim()} (private dockerd, runc ${sh(["runc", "--version"], {}).split("\n")[0]})`);
  }
  const cmds: { name: string; argv: string[]; env?: Record<string, string> }[] = [];
  const pair = (what: string, rest: string[]) => {
    cmds.push({ name: `berth ${what}`, argv: [...berthArgv, ...rest], env: benv });
    if (docker !== undefined) cmds.push({ name: `docker ${what}`, argv: [...dcli, ...rest], env: denv });
  };
  pair("run --rm busybox true", ["run", "--rm", "busybox", "true"]);
  pair("run --rm --network none busybox true", ["run", "--rm", "--network", "none", "busybox", "true"]);
  pair("images", ["images"]);
  pair("image inspect busybox", ["image", "inspect", "busybox"]);
  cmds.push({ name: "node -e 0", argv: [process.execPath, "-e", "0"] });
  const timings: Timing[] = timeCommands(cmds, { runs: RUNS });
  console.log(report(timings, "node -e 0"));
  const by = (n: string) => timings.find((t) => t.name === n)!;
  if (docker !== undefined) {
    for (const what of ["run --rm busybox true", "run --rm --network none busybox true", "images", "image inspect busybox"]) {
      console.log(`ratio berth/docker ${what}: ${(by(`berth ${what}`).medianMs / by(`docker ${what}`).medianMs).toFixed(2)}x`);
    }
  }
  const rounds = Math.max(3, Math.floor(RUNS / 5));
  const b20: { start: number; remove: number }[] = [];
  const d20: { start: number; remove: number }[] = [];
  for (let i = 0; i < rounds; i++) {
    b20.push(twenty(berthArgv, benv));
    if (docker !== undefined) d20.push(twenty(dcli, denv));
  }
  const line = (who: string, xs: { start: number; remove: number }[]) =>
    `${who} 20 x run -d: median ${median(xs.map((x) => x.start)).toFixed(0)} ms (${(median(xs.map((x) => x.start)) / 20).toFixed(0)} ms each); rm -f of 20: ${median(xs.map((x) => x.remove)).toFixed(0)} ms`;
  console.log(line("berth", b20));
  if (docker !== undefined) {
    console.log(line("docker", d20));
    console.log(`ratio berth/docker 20 x run -d: ${(median(b20.map((x) => x.start)) / median(d20.map((x) => x.start))).toFixed(2)}x, rm -f: ${(median(b20.map((x) => x.remove)) / median(d20.map((x) => x.remove))).toFixed(2)}x`);
  }
  if (ALL) {
    for (const script of ["build.ts", "pull.ts"]) {
      console.log(`\n== bench/${script}${docker === undefined ? "" : " (with the private dockerd)"}`);
      const r = spawnSync(process.execPath, [resolve(import.meta.dirname, script)], {
        env: { ...process.env, ...denv, ...(docker === undefined ? {} : { BENCH_DOCKER: "1" }) },
        stdio: "inherit",
      });
      if (r.status !== 0) console.log(`bench/${script} failed (${r.status})`);
    }
  }
} finally {
  await docker?.stop();
  // Containers the benchmark left (a failure midway) go first, then the root.
  const left = spawnSync(berthArgv[0]!, [...berthArgv.slice(1), "ps", "-aq"], { env: { ...process.env, ...benv }, encoding: "utf8" }).stdout.trim();
  if (left !== "") spawnSync(berthArgv[0]!, [...berthArgv.slice(1), "rm", "-f", ...left.split("\n")], { env: { ...process.env, ...benv } });
  // conmon's exit commands of the last --rm runs may still be tearing down.
  for (let i = 0; i < 50 && spawnSync("sh", ["-c", `grep -q ${dir} /proc/self/mountinfo`]).status === 0; i++) await new Promise((r) => setTimeout(r, 100));
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}
