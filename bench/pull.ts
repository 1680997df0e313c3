/**
 * `berth pull` of a ~200 MB image in several gzip layers through a local
 * docker-registry, against the floor: the same layers fetched with curl, three
 * at a time (Docker's max-concurrent-downloads), (a) written to files and
 * (b) piped through `tar -xzf` (download + gunzip + untar, what Docker's pull
 * does). Whole processes are timed (Node's start-up included), in turn, after
 * one warm-up, each into a fresh directory (clean-up not timed).
 *
 *   node bench/pull.ts                       # BENCH_RUNS=5 BENCH_MB=260 BENCH_LAYERS=4
 *   BENCH_DOCKER=1 node bench/pull.ts        # adds `docker pull` (needs dockerd running)
 *
 * Docker is not timed by default: start `dockerd &` and set BENCH_DOCKER=1.
 * Layers are tars of files of base64 text (gzip ~1.3:1), made with tar(1).
 * "berth images" on the pulled store is shown as berth's start-up cost.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { LocalContentStore } from "../src/content/local-content-store.ts";
import type { Descriptor } from "../src/core/index.ts";
import { MediaTypes } from "../src/oci/index.ts";
import { RegistryClient, pushImage } from "../src/registry/index.ts";
import { startRegistry } from "../src/testing/registry-server.ts";

const RUNS = Number(process.env["BENCH_RUNS"] ?? 5);
/** Uncompressed MB; base64 text gzips to ~77%, so 260 gives ~200 MB on the wire. */
const MB = Number(process.env["BENCH_MB"] ?? 260);
const LAYERS = Number(process.env["BENCH_LAYERS"] ?? 4);
const DOCKER = process.env["BENCH_DOCKER"] === "1";
// pull/push may not be registered in src/cli/registry.ts yet; this entry adds them if missing.
const ENTRY = resolve(fileURLToPath(import.meta.url), "../../test/integration/pullpush/berth-entry.ts");

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const work = mkdtempSync(join(tmpdir(), "berth-bench-pull-"));
const reg = await startRegistry();
const client = new RegistryClient({ config: { mirrors: {}, insecure: [] } });
try {
  // 1. The image: LAYERS tars of ~MB/LAYERS each, gzip'd by tar(1).
  const store = await LocalContentStore.open(join(work, "src"));
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  for (let i = 0; i < LAYERS; i++) {
    const dir = join(work, `layer${i}`, "data");
    mkdirSync(dir, { recursive: true });
    const perLayer = Math.floor((MB * 1e6) / LAYERS);
    for (let f = 0, n = 0; n < perLayer; f++) {
      const size = Math.min(4e6, perLayer - n);
      writeFileSync(join(dir, `f${f}`), randomBytes(Math.ceil((size * 3) / 4)).toString("base64").slice(0, size));
      n += size;
    }
    const tarPath = join(work, `layer${i}.tar`);
    execFileSync("tar", ["-C", join(work, `layer${i}`), "--numeric-owner", "-cf", tarPath, "data"]);
    diffIds.push(`sha256:${createHash("sha256").update(readFileSync(tarPath)).digest("hex")}`);
    execFileSync("gzip", ["-1", "-f", tarPath]);
    const info = await store.put(readFileSync(`${tarPath}.gz`));
    layers.push({ mediaType: MediaTypes.ociLayerGzip, digest: info.digest, size: info.size });
    rmSync(join(work, `layer${i}`), { recursive: true, force: true });
    rmSync(`${tarPath}.gz`);
  }
  const cfg = await store.put(Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", config: {}, rootfs: { type: "layers", diff_ids: diffIds } })));
  const manifestRaw = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: { mediaType: MediaTypes.ociConfig, digest: cfg.digest, size: cfg.size }, layers }),
  );
  const m = await store.put(manifestRaw);
  const ref = `${reg.host}/bench/pull:1`;
  await pushImage({ client, ref: { domain: reg.host, path: "bench/pull", tag: "1" }, store, manifest: { mediaType: MediaTypes.ociManifest, digest: m.digest, size: m.size } });
  const total = layers.reduce((a, l) => a + l.size, 0);
  console.log(`image: ${LAYERS} layers, ${(total / 1e6).toFixed(1)} MB compressed, ${reg.host}`);

  // 2. Contenders. Each gets a fresh directory per run.
  const urls = layers.map((l) => `${reg.url}/v2/bench/pull/blobs/${l.digest}`);
  const xargs = (cmd: string): string[] => ["sh", "-c", `printf '%s\\n' ${urls.join(" ")} | xargs -P 3 -I{} sh -c '${cmd}'`];
  const contenders: { name: string; argv: (dir: string) => string[]; env?: (dir: string) => Record<string, string>; cleanup?: () => void }[] = [
    {
      name: "berth pull",
      argv: () => [process.execPath, "--disable-warning=ExperimentalWarning", ENTRY, "pull", "-q", ref],
      env: (dir) => ({ BERTH_ROOT: dir, BERTH_RUNROOT: join(dir, "run"), BERTH_CONFIG: join(dir, "none.json"), DOCKER_CONFIG: dir }),
    },
    { name: "curl -o (download only)", argv: (dir) => xargs(`curl -sf -o ${dir}/$(basename {}) {}`) },
    { name: "curl | tar -xz (floor)", argv: (dir) => xargs(`d=${dir}/$(basename {}); mkdir -p $d; curl -sf {} | tar -xzf - -C $d`) },
  ];
  contenders.push({
    name: "berth images (start-up)",
    argv: () => [process.execPath, "--disable-warning=ExperimentalWarning", ENTRY, "images", "-q"],
    env: (dir) => ({ BERTH_ROOT: dir, BERTH_RUNROOT: join(dir, "run"), BERTH_CONFIG: join(dir, "none.json") }),
  });
  if (DOCKER) {
    contenders.push({
      name: "docker pull",
      argv: () => ["docker", "pull", "-q", ref],
      cleanup: () => void spawnSync("docker", ["rmi", "-f", ref], { stdio: "ignore" }),
    });
  }
  const samples = contenders.map(() => [] as number[]);
  for (let run = 0; run < RUNS + 1; run++) {
    contenders.forEach((c, j) => {
      const dir = mkdtempSync(join(work, "run-"));
      const t0 = process.hrtime.bigint();
      const r = spawnSync(c.argv(dir)[0]!, c.argv(dir).slice(1), { env: { ...process.env, ...(c.env?.(dir) ?? {}) }, stdio: ["ignore", "ignore", "pipe"] });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.status !== 0) throw new Error(`${c.name} failed (${r.status}): ${r.stderr.toString()}`);
      if (run > 0) samples[j]!.push(ms);
      rmSync(dir, { recursive: true, force: true });
      c.cleanup?.();
    });
  }
  const floor = median(samples[2]!);
  const dl = median(samples[1]!);
  for (const [j, c] of contenders.entries()) {
    const med = median(samples[j]!);
    console.log(
      `${c.name.padEnd(26)} median ${(med / 1000).toFixed(2)} s (min ${(Math.min(...samples[j]!) / 1000).toFixed(2)}, max ${(Math.max(...samples[j]!) / 1000).toFixed(2)})  ${(total / 1e6 / (med / 1000)).toFixed(0)} MB/s  ${(med / floor).toFixed(2)}x floor  ${(med / dl).toFixed(2)}x download-only`,
    );
  }
  if (!DOCKER) console.log("docker: not run (start dockerd and set BENCH_DOCKER=1)");
  console.log("note: berth pull, like docker pull, stores the image and unpacks its layers (berth keeps the compressed blobs too); the floor only unpacks");
} finally {
  await client.close();
  await reg.stop();
  rmSync(work, { recursive: true, force: true });
}
