/**
 * The Debian base: `debootstrap --variant=minbase` once per (suite, arch,
 * mirror, package set), kept in a cache, then a fresh copy per bootstrap that
 * gets the host's extra CAs (optional) and is slimmed like the official
 * `debian:<suite>-slim` image.
 *
 * Cache layout (under the berth root):
 *   cache/bootstrap/debootstrap/<key>/rootfs      the untouched debootstrap tree
 *   cache/bootstrap/debootstrap/<key>/info.json   { suite, arch, mirror, include, packages, created }
 * A cache entry appears only by rename once debootstrap has succeeded, so an
 * interrupted run never leaves a half tree that a later run would trust.
 */
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { dirname, join } from "node:path";
import { invalidParameter, throwIfAborted } from "../core/errors.ts";
import { execTool } from "./exec.ts";
import { hostExtraCAs, parseDpkgStatus, slimDebianRootfs } from "./rootfs.ts";
import { removeTree } from "./tree.ts";

/** Packages added to minbase: what the official image has for TLS (ca-certificates pulls in openssl). */
export const DEBIAN_EXTRA_PACKAGES = ["ca-certificates"] as const;

export interface DebootstrapOptions {
  /** cache/bootstrap under the berth root. */
  readonly cacheDir: string;
  readonly suite: string;
  /** Debian architecture (amd64, arm64). */
  readonly arch: string;
  readonly mirror: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (line: string) => void;
}

export interface DebootstrapResult {
  readonly rootfs: string;
  /** Identifies the cached tree (a hash of its inputs); part of layer cache keys. */
  readonly key: string;
  /** Installed packages, `name=version`, sorted. */
  readonly packages: readonly string[];
  readonly cached: boolean;
}

/** debootstrap's stage lines (not its per-package ones), shown as progress. */
const DEBOOTSTRAP_STEP = /^(?:[WE]: |I: (?:Retrieving (?:Release|Packages)\b|Resolving|Found|Checking|Installing core|Unpacking (?:required|the base)|Configuring (?:required|the base)|Base system))/;

function validateMirror(mirror: string): void {
  let u: URL;
  try {
    u = new URL(mirror);
  } catch {
    throw invalidParameter(`invalid Debian mirror ${JSON.stringify(mirror)}: not a URL`);
  }
  if (!["http:", "https:", "file:"].includes(u.protocol)) throw invalidParameter(`invalid Debian mirror ${mirror}: use http, https or file`);
}

/**
 * The cached debootstrap tree for these inputs, made first if missing.
 * @throws not-found when debootstrap is not installed, system when it fails, cancelled
 */
export async function debootstrapCached(o: DebootstrapOptions): Promise<DebootstrapResult> {
  validateMirror(o.mirror);
  if (!/^[a-z0-9-]+$/.test(o.suite)) throw invalidParameter(`invalid Debian suite ${JSON.stringify(o.suite)}`);
  const include = [...DEBIAN_EXTRA_PACKAGES].sort();
  const key = createHash("sha256")
    .update(JSON.stringify({ v: 1, suite: o.suite, arch: o.arch, mirror: o.mirror.replace(/\/+$/, ""), variant: "minbase", include }))
    .digest("hex")
    .slice(0, 16);
  const base = join(o.cacheDir, "debootstrap");
  const entry = join(base, key);
  const rootfs = join(entry, "rootfs");
  if (existsSync(join(entry, "info.json")) && existsSync(rootfs)) {
    const info = JSON.parse(readFileSync(join(entry, "info.json"), "utf8")) as { packages: string[] };
    o.onProgress?.(`Using cached debootstrap of ${o.suite}/${o.arch} (${key})`);
    return { rootfs, key, packages: info.packages, cached: true };
  }
  mkdirSync(base, { recursive: true, mode: 0o700 });
  const tmp = await mkdtemp(join(base, "tmp-"));
  try {
    const target = join(tmp, "rootfs");
    o.onProgress?.(`debootstrap --variant=minbase --include=${include.join(",")} ${o.suite} from ${o.mirror} (about a minute)`);
    await execTool(
      "debootstrap",
      ["--variant=minbase", `--arch=${o.arch}`, `--include=${include.join(",")}`, o.suite, target, o.mirror],
      {
        killSignal: "SIGINT",
        packageHint: "debootstrap",
        env: { ...process.env, PATH: `${process.env["PATH"] ?? ""}:/usr/sbin:/sbin`, DEBIAN_FRONTEND: "noninteractive" },
        ...(o.signal === undefined ? {} : { signal: o.signal }),
        ...(o.onProgress === undefined ? {} : { onLine: (l: string) => void (DEBOOTSTRAP_STEP.test(l) && o.onProgress?.(l)) }),
      },
    );
    throwIfAborted(o.signal);
    const packages = parseDpkgStatus(readFileSync(join(target, "var/lib/dpkg/status"), "utf8"));
    writeFileSync(join(tmp, "info.json"), JSON.stringify({ suite: o.suite, arch: o.arch, mirror: o.mirror, include, packages, created: new Date().toISOString() }, null, 1));
    rmSync(entry, { recursive: true, force: true });
    renameSync(tmp, entry);
    return { rootfs, key, packages, cached: false };
  } finally {
    if (existsSync(tmp)) await removeTree(tmp);
  }
}

export interface DebianRootfsOptions {
  /** The cached debootstrap tree (read only). */
  readonly source: string;
  /** An empty directory that becomes the layer. */
  readonly dest: string;
  readonly suite: string;
  readonly mirror: string;
  readonly epochSeconds: number;
  /** Host CA files (from hostExtraCAs) to trust in the image; empty for none. */
  readonly hostCAs: readonly string[];
  readonly hostCADir?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (line: string) => void;
}

/**
 * Copies the debootstrap tree to `dest`, adds the host CAs (update-ca-certificates
 * in a chroot), slims it, and empties /dev (the runtime provides devices).
 */
export async function makeDebianRootfs(o: DebianRootfsOptions): Promise<void> {
  const sig = o.signal === undefined ? {} : { signal: o.signal };
  await execTool("cp", ["-a", "--reflink=auto", `${o.source}/.`, o.dest], sig);
  if (o.hostCAs.length > 0) {
    const from = o.hostCADir ?? "/usr/local/share/ca-certificates";
    o.onProgress?.(`Adding ${o.hostCAs.length} host CA certificate(s): ${o.hostCAs.join(", ")}`);
    for (const rel of o.hostCAs) {
      const to = join(o.dest, "usr/local/share/ca-certificates", rel);
      mkdirSync(dirname(to), { recursive: true, mode: 0o755 });
      copyFileSync(join(from, rel), to);
    }
    await execTool(existsSync("/usr/sbin/chroot") ? "/usr/sbin/chroot" : "chroot", [o.dest, "/usr/sbin/update-ca-certificates"], {
      ...sig,
      env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" },
    });
  }
  throwIfAborted(o.signal);
  slimDebianRootfs(o.dest, { epochSeconds: o.epochSeconds, mirror: o.mirror, suite: o.suite });
  const dev = join(o.dest, "dev");
  if (existsSync(dev)) for (const n of readdirSync(dev)) rmSync(join(dev, n), { recursive: true, force: true });
}

/** The host CAs to add by default: those in /usr/local/share/ca-certificates. */
export function defaultHostCAs(dir?: string): string[] {
  return hostExtraCAs(dir);
}

/** A stable fingerprint of a set of CA files (for cache keys and labels). */
export function caFingerprint(files: readonly string[], dir = "/usr/local/share/ca-certificates"): string {
  const h = createHash("sha256");
  for (const f of files) h.update(f).update("\0").update(readFileSync(join(dir, f))).update("\0");
  return h.digest("hex");
}
