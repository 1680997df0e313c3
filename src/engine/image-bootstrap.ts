/**
 * `image bootstrap`: base images made without Docker Hub, from the host's
 * Debian packages and the npm registry (issue 7).
 *
 *   busybox  one layer: the host's busybox-static with its applet links.       CMD ["sh"]
 *   debian   one layer: debootstrap --variant=minbase + ca-certificates,
 *            slimmed as debian:<suite>-slim, host CAs optionally trusted.     CMD ["bash"]
 *   node     two layers: the same Debian layer (shared, byte for byte, with
 *            debian:<suite> made with the same options) + Node.js and npm
 *            laid out as the official node images. ENTRYPOINT ["docker-entrypoint.sh"] CMD ["node"]
 *
 * Reproducibility: every mtime is clamped to SOURCE_DATE_EPOCH (engine config,
 * else the option, else DEFAULT_SOURCE_DATE_EPOCH = 2025-01-01T00:00:00Z) and
 * `created` is that instant, so equal inputs give the same image ID. The inputs
 * are recorded as labels: Debian package versions, Node and npm versions and
 * integrities, the mirror, whether host CAs were added. The Debian tree comes
 * from a debootstrap cache (cache/bootstrap under the berth root); a second
 * bootstrap with the same cache gives the same ID, and packed layers are
 * cached too (keyed by every input), so repeating a bootstrap takes seconds.
 *
 * Host CAs (`hostCA`): the machines this runs on may re-sign HTTPS with a CA
 * that only the host trusts (MACHINE-NOTES). When hostCA is true the files in
 * /usr/local/share/ca-certificates are added to the image's trust store (and
 * the node image gets NODE_EXTRA_CA_CERTS); the default is true exactly when
 * the host has such files, since an image that cannot reach the network from
 * here is of little use, and false elsewhere (nothing to add). The labels say
 * which CAs were added: such an image is host-specific, do not publish it.
 *
 * Failure and cancellation leave no tag and no scratch directory; blobs already
 * written are unreferenced and go with the next garbage collection.
 */
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream";
import {
  caFingerprint, debootstrapCached, DEFAULT_PATH, downloadPackage, execTool, hostDebianMirror, hostExtraCAs, makeDebianRootfs,
  nodeArch, npmMajorFor, npmRegistry, parseAppletList, removeTree, resolvePackage, unpackPackage, writeBusyboxRootfs, writeNodeLayer,
} from "../bootstrap/index.ts";
import type { Digest } from "../core/index.ts";
import { invalidParameter, notFound, systemError, throwIfAborted } from "../core/index.ts";
import { compress, DigestingStream, packDirectory } from "../layers/index.ts";
import { MediaTypes, type ContainerConfig, type HistoryEntry, type ImageConfig, type ImageManifest } from "../oci/index.ts";
import { familiarString, normalizeReference, referenceString, withTag } from "../oci/reference.ts";
import type { EngineContext } from "./context.ts";
import { recordLayerSize } from "./image-view.ts";
import { acquireLease } from "./lease.ts";

/** 2025-01-01T00:00:00Z: the created time and mtime ceiling when SOURCE_DATE_EPOCH is not set. */
export const DEFAULT_SOURCE_DATE_EPOCH = 1735689600;
export const DEFAULT_DEBIAN_SUITE = "bookworm";
export const DEFAULT_NODE_VERSION = "24";
export const DEFAULT_DEBIAN_MIRROR = "http://deb.debian.org/debian";
const LABEL = "io.berth.bootstrap";

export type BootstrapKind = "busybox" | "debian" | "node";
export const BOOTSTRAP_KINDS: readonly BootstrapKind[] = ["busybox", "debian", "node"];

export interface ImageBootstrapOptions {
  readonly kind: BootstrapKind;
  /** NAME[:TAG]; default: busybox:latest, debian:<suite> + debian:<suite>-slim, node:<major> (+ latest, lts for the default major). */
  readonly reference?: string;
  /** Debian mirror; default: the host's APT sources, else deb.debian.org. */
  readonly mirror?: string;
  readonly suite?: string;
  /** Node.js MAJOR, MAJOR.MINOR or exact version; default 24. */
  readonly nodeVersion?: string;
  /** npm version spec; default the npm major that ships with that Node major. */
  readonly npmVersion?: string;
  /** Trust the host's extra CAs in the image; default: true when the host has any. */
  readonly hostCA?: boolean;
  /** Host platform only; anything else is invalid-parameter. */
  readonly platform?: { os: string; architecture: string; variant?: string };
  /** Seconds; overrides the engine's SOURCE_DATE_EPOCH. */
  readonly sourceDateEpoch?: number;
  /** Environment for the npm registry address ($npm_config_registry). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where the extra host CAs live (tests); default /usr/local/share/ca-certificates. */
  readonly hostCADir?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (line: string) => void;
}

export interface BootstrapLayer {
  readonly diffId: Digest;
  readonly digest: Digest;
  readonly size: number;
  readonly uncompressedSize: number;
}

export interface ImageBootstrapReport {
  readonly id: Digest;
  /** Familiar names ("node:24"), as tagged. */
  readonly tags: readonly string[];
  readonly layers: readonly BootstrapLayer[];
  readonly labels: Readonly<Record<string, string>>;
}

interface LayerRecipe {
  /** Every input of the layer; equal keys mean equal bytes. */
  readonly key: string;
  readonly createdBy: string;
  /** Fills `dir` (an empty directory) with the layer's tree, or returns another directory to pack. */
  build(dir: string): Promise<string | void>;
}

function defaultTags(o: ImageBootstrapOptions, suite: string, nodeSpec: string): string[] {
  if (o.reference !== undefined && o.reference !== "") return [o.reference];
  switch (o.kind) {
    case "busybox":
      return ["busybox:latest"];
    case "debian":
      return [`debian:${suite}`, `debian:${suite}-slim`];
    case "node":
      return nodeSpec === DEFAULT_NODE_VERSION ? [`node:${nodeSpec}`, "node:latest", "node:lts"] : [`node:${nodeSpec}`];
  }
}

function findBusybox(): string {
  for (const p of ["/bin/busybox", "/usr/bin/busybox", "/sbin/busybox", "/usr/sbin/busybox"]) if (existsSync(p)) return p;
  throw notFound("busybox: executable file not found (install the Debian package busybox-static)");
}

async function hostPackageVersion(pkg: string, signal?: AbortSignal): Promise<string | undefined> {
  try {
    const r = await execTool("dpkg-query", ["-W", "-f", "${Version}", pkg], signal === undefined ? {} : { signal });
    return r.stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

function keyOf(parts: Record<string, unknown>): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex");
}

/** Packs a directory into a gzip layer in the content store: diffID, blob, sizes. */
async function writeLayer(ctx: EngineContext, dir: string, epoch: number, signal?: AbortSignal): Promise<BootstrapLayer> {
  const sig = signal === undefined ? {} : { signal };
  const digesting = new DigestingStream();
  const tarStream = pipeline(packDirectory(dir, { ...sig, sourceDateEpoch: epoch }), digesting, () => {});
  const blob = await ctx.content.ingest(compress(tarStream, "gzip"), sig);
  return { diffId: await digesting.digest, digest: blob.digest, size: blob.size, uncompressedSize: await digesting.size };
}

/**
 * Builds the image. @throws invalid-parameter (bad kind, reference, platform or
 * version), not-found (busybox or debootstrap missing; no such Node version),
 * unavailable (mirror or npm registry unreachable), data-loss (a download does
 * not match its integrity), system (a host tool failed), cancelled
 */
export async function imageBootstrap(ctx: EngineContext, o: ImageBootstrapOptions): Promise<ImageBootstrapReport> {
  if (!BOOTSTRAP_KINDS.includes(o.kind)) throw invalidParameter(`unknown bootstrap kind ${JSON.stringify(o.kind)}: want ${BOOTSTRAP_KINDS.join(", ")}`);
  const platform = ctx.platform;
  if (o.platform !== undefined && (o.platform.os !== platform.os || o.platform.architecture !== platform.architecture)) {
    throw invalidParameter(`image bootstrap makes images for the host platform only (${platform.os}/${platform.architecture})`);
  }
  const epoch = o.sourceDateEpoch ?? (ctx.config.sourceDateEpoch === undefined ? DEFAULT_SOURCE_DATE_EPOCH : Math.floor(ctx.config.sourceDateEpoch.getTime() / 1000));
  const created = new Date(epoch * 1000).toISOString();
  const suite = o.suite ?? DEFAULT_DEBIAN_SUITE;
  const nodeSpec = o.nodeVersion ?? DEFAULT_NODE_VERSION;
  const tags = defaultTags(o, suite, nodeSpec).map((t) => {
    const r = normalizeReference(t);
    if (r.digest !== undefined) throw invalidParameter("refusing to create a tag with a digest reference");
    return r.tag === undefined ? withTag(r, "latest") : r;
  });
  const progress = (line: string) => o.onProgress?.(line);
  const sig = o.signal === undefined ? {} : { signal: o.signal };
  throwIfAborted(o.signal);

  using _lease = acquireLease(ctx);
  const cacheDir = join(ctx.config.root, "cache", "bootstrap");
  mkdirSync(join(cacheDir, "layers"), { recursive: true, mode: 0o700 });
  mkdirSync(join(ctx.content.root, "tmp"), { recursive: true });
  const scratch = await mkdtemp(join(ctx.content.root, "tmp", `bootstrap-${o.kind}-`));
  try {
    const labels: Record<string, string> = {
      "org.opencontainers.image.created": created,
      [`${LABEL}.kind`]: o.kind,
      [`${LABEL}.source-date-epoch`]: String(epoch),
    };
    const recipes: LayerRecipe[] = [];
    const history: HistoryEntry[] = [];
    let config: ContainerConfig;

    if (o.kind === "busybox") {
      const busybox = findBusybox();
      const applets = parseAppletList((await execTool(busybox, ["--list"], sig)).stdout);
      const bbHash = createHash("sha256").update(readFileSync(busybox)).digest("hex");
      const pkgVersion = await hostPackageVersion("busybox-static", o.signal);
      const bbVersion = /BusyBox v(\S+)/.exec((await execTool(busybox, [], sig).catch(() => ({ stdout: "", stderr: "" }))).stdout)?.[1];
      Object.assign(labels, {
        "org.opencontainers.image.title": "busybox",
        "org.opencontainers.image.description": "BusyBox from the host's Debian busybox-static, made by berth image bootstrap",
        ...(bbVersion === undefined ? {} : { "org.opencontainers.image.version": bbVersion }),
        [`${LABEL}.busybox.sha256`]: bbHash,
        ...(pkgVersion === undefined ? {} : { [`${LABEL}.debian.packages`]: `busybox-static=${pkgVersion}` }),
      });
      recipes.push({
        key: keyOf({ v: 1, kind: "busybox", bbHash, applets, epoch }),
        createdBy: `berth image bootstrap busybox (${busybox}${pkgVersion === undefined ? "" : `, busybox-static ${pkgVersion}`})`,
        build: async (dir) => writeBusyboxRootfs(dir, { busybox, applets }),
      });
      config = { Env: [`PATH=${DEFAULT_PATH}`], Cmd: ["sh"], Labels: labels };
    } else {
      const mirror = (o.mirror ?? hostDebianMirror() ?? DEFAULT_DEBIAN_MIRROR).replace(/\/+$/, "");
      const caDir = o.hostCADir ?? "/usr/local/share/ca-certificates";
      const hostCAs = o.hostCA === false ? [] : hostExtraCAs(caDir);
      if (o.hostCA === true && hostCAs.length === 0) progress(`--host-ca: no extra CA certificates in ${caDir}; nothing to add`);
      const caPrint = hostCAs.length === 0 ? "" : caFingerprint(hostCAs, caDir);
      const debArch = platform.architecture;
      const boot = await debootstrapCached({ cacheDir, suite, arch: debArch, mirror, ...sig, onProgress: progress });
      const debianKey = keyOf({ v: 1, kind: "debian", boot: boot.key, caPrint, epoch, mirror, suite });
      // The slim Debian tree, made at most once per bootstrap (the node layer reads its account files).
      let debianTree: string | undefined;
      const ensureDebianTree = async (): Promise<string> => {
        if (debianTree !== undefined) return debianTree;
        const dir = join(scratch, "debian");
        mkdirSync(dir);
        progress(`Preparing the ${suite} root filesystem${hostCAs.length > 0 ? " with the host's CA certificates" : ""}`);
        await makeDebianRootfs({ source: boot.rootfs, dest: dir, suite, mirror, epochSeconds: epoch, hostCAs, hostCADir: caDir, ...sig, onProgress: progress });
        debianTree = dir;
        return dir;
      };
      Object.assign(labels, {
        [`${LABEL}.debian.suite`]: suite,
        [`${LABEL}.debian.mirror`]: mirror,
        [`${LABEL}.debian.packages`]: boot.packages.join(" "),
        [`${LABEL}.host-ca`]: hostCAs.length > 0 ? hostCAs.join(",") : "false",
        ...(hostCAs.length > 0 ? { [`${LABEL}.host-ca.sha256`]: caPrint } : {}),
      });
      recipes.push({
        key: debianKey,
        createdBy: `berth image bootstrap debian: debootstrap --variant=minbase --include=ca-certificates ${suite} ${mirror}; slim${hostCAs.length > 0 ? "; host CAs" : ""}`,
        build: () => ensureDebianTree(),
      });
      const env = [`PATH=${DEFAULT_PATH}`];
      if (o.kind === "debian") {
        Object.assign(labels, {
          "org.opencontainers.image.title": "debian",
          "org.opencontainers.image.version": suite,
          "org.opencontainers.image.description": `Debian ${suite} (slim), made by berth image bootstrap`,
        });
        config = { Env: env, Cmd: ["bash"], Labels: labels };
      } else {
        const registry = npmRegistry(o.env ?? process.env);
        const arch = nodeArch(platform.architecture);
        progress(`Resolving node@${nodeSpec} in ${registry}`);
        const nodePkg = await resolvePackage({ registry, name: `node-linux-${arch}`, spec: nodeSpec, ...sig });
        const npmPkg = await resolvePackage({ registry, name: "npm", spec: o.npmVersion ?? npmMajorFor(Number(nodePkg.version.split(".")[0])), ...sig });
        progress(`Node.js ${nodePkg.version}, npm ${npmPkg.version}`);
        Object.assign(labels, {
          "org.opencontainers.image.title": "node",
          "org.opencontainers.image.version": nodePkg.version,
          "org.opencontainers.image.description": `Node.js ${nodePkg.version} on Debian ${suite} (slim), made by berth image bootstrap`,
          "org.opencontainers.image.base.name": `docker.io/library/debian:${suite}`,
          [`${LABEL}.node.version`]: nodePkg.version,
          [`${LABEL}.node.package`]: `${nodePkg.name}@${nodePkg.version}`,
          [`${LABEL}.node.integrity`]: nodePkg.integrity,
          [`${LABEL}.npm.version`]: npmPkg.version,
          [`${LABEL}.npm.integrity`]: npmPkg.integrity,
        });
        recipes.push({
          key: keyOf({ v: 1, kind: "node", debianKey, node: nodePkg.integrity, npm: npmPkg.integrity, epoch }),
          createdBy: `berth image bootstrap node: ${nodePkg.name}@${nodePkg.version} and npm@${npmPkg.version} from ${registry}`,
          build: async (dir) => {
            const dl = join(scratch, "downloads");
            mkdirSync(dl, { recursive: true });
            progress(`Downloading ${nodePkg.name}@${nodePkg.version}`);
            await downloadPackage(nodePkg, join(dl, "node.tgz"), sig);
            progress(`Downloading npm@${npmPkg.version}`);
            await downloadPackage(npmPkg, join(dl, "npm.tgz"), sig);
            const nodeDir = join(dl, "node");
            mkdirSync(nodeDir);
            await unpackPackage(join(dl, "node.tgz"), nodeDir, { ...sig, members: ["bin/node", "include"] });
            const v = (await execTool(join(nodeDir, "bin/node"), ["--version"], sig)).stdout.trim();
            if (v !== `v${nodePkg.version}`) throw systemError(`${nodePkg.name}@${nodePkg.version} contains node ${v}`);
            const base = await ensureDebianTree();
            writeNodeLayer(dir, {
              nodeBinary: join(nodeDir, "bin/node"),
              baseRootfs: base,
              epochSeconds: epoch,
              ...(existsSync(join(nodeDir, "include/node")) ? { includeDir: join(nodeDir, "include/node") } : {}),
            });
            const npmDir = join(dir, "usr/local/lib/node_modules/npm");
            mkdirSync(npmDir, { mode: 0o755 });
            await unpackPackage(join(dl, "npm.tgz"), npmDir, sig);
            markBinsExecutable(npmDir);
          },
        });
        env.push(`NODE_VERSION=${nodePkg.version}`);
        if (hostCAs.length > 0) env.push("NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt");
        config = { Env: env, Entrypoint: ["docker-entrypoint.sh"], Cmd: ["node"], Labels: labels };
      }
    }

    const layers: BootstrapLayer[] = [];
    for (const r of recipes) {
      throwIfAborted(o.signal);
      const cacheFile = join(cacheDir, "layers", `${r.key}.json`);
      let layer: BootstrapLayer | undefined;
      if (existsSync(cacheFile)) {
        const c = JSON.parse(readFileSync(cacheFile, "utf8")) as BootstrapLayer;
        if (await ctx.content.has(c.digest)) layer = c;
      }
      if (layer === undefined) {
        const dir = join(scratch, `layer-${layers.length}`);
        mkdirSync(dir, { mode: 0o755 });
        chmodSync(dir, 0o755);
        const tree = (await r.build(dir)) ?? dir;
        progress(`Packing layer ${layers.length + 1}/${recipes.length}`);
        layer = await writeLayer(ctx, tree, epoch, o.signal);
        await removeTree(dir);
        writeFileSync(cacheFile, JSON.stringify(layer));
      }
      progress(`Layer ${layers.length + 1}/${recipes.length}: ${layer.digest.slice(7, 19)} (${(layer.size / 1e6).toFixed(1)} MB)`);
      layers.push(layer);
      history.push({ created, created_by: r.createdBy });
    }
    if (o.kind === "node") {
      for (const line of ["ENV NODE_VERSION", "ENTRYPOINT [\"docker-entrypoint.sh\"]", 'CMD ["node"]']) {
        history.push({ created, created_by: `/bin/sh -c #(nop) ${line}`, empty_layer: true });
      }
    } else {
      history.push({ created, created_by: `/bin/sh -c #(nop) CMD ${JSON.stringify(config.Cmd)}`, empty_layer: true });
    }

    const imageConfig: ImageConfig = {
      created,
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant === undefined ? {} : { variant: platform.variant }),
      config,
      rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
      history,
    };
    const configBlob = await ctx.content.put(Buffer.from(JSON.stringify(imageConfig)));
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: { mediaType: MediaTypes.ociConfig, digest: configBlob.digest, size: configBlob.size },
      layers: layers.map((l) => ({ mediaType: MediaTypes.ociLayerGzip, digest: l.digest, size: l.size })),
    };
    const manifestBlob = await ctx.content.put(Buffer.from(JSON.stringify(manifest)));
    throwIfAborted(o.signal);
    const id = configBlob.digest;
    ctx.db.transaction(() => {
      for (const l of layers) recordLayerSize(ctx, l.diffId, l.uncompressedSize);
      ctx.images.put({ id, target: { mediaType: MediaTypes.ociManifest, digest: manifestBlob.digest, size: manifestBlob.size } });
      for (const t of tags) ctx.images.tag(referenceString(t), id);
    });
    return { id, tags: tags.map((t) => familiarString(t)), layers, labels };
  } finally {
    await removeTree(scratch);
  }
}

/** npm's tarball does not keep exec bits: set them on its package.json "bin" targets and node-gyp-bin. */
function markBinsExecutable(pkgDir: string): void {
  const pj = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as { bin?: string | Record<string, string> };
  const bins = typeof pj.bin === "string" ? [pj.bin] : Object.values(pj.bin ?? {});
  for (const b of bins) if (existsSync(join(pkgDir, b))) chmodSync(join(pkgDir, b), 0o755);
  for (const f of ["bin/node-gyp-bin/node-gyp", "bin/npm", "bin/npx", "bin/npm-cli.js", "bin/npx-cli.js"]) {
    if (existsSync(join(pkgDir, f))) chmodSync(join(pkgDir, f), 0o755);
  }
}
