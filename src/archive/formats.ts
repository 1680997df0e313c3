/**
 * The JSON documents of image archives, validated from `unknown`; manifests,
 * indexes and configs go through src/oci/validate.ts.
 *
 * docker-archive (moby image/tarexport):
 *   manifest.json  [{ "Config": "<path>", "RepoTags": ["busybox:latest"] | null,
 *                     "Layers": ["<path>", ...], "LayerSources"?: { diffID: Descriptor } }]
 *   repositories   { "<familiar name>": { "<tag>": "<hex of the top layer>" } }
 * OCI image layout (image-spec image-layout.md): `oci-layout`, `index.json`, `blobs/<alg>/<hex>`.
 */
import {
  EngineError,
  invalidParameter,
  isEngineError,
  parseDigest,
  type Descriptor,
  type Digest,
  type PlatformSpec,
} from "../core/index.ts";
import { MediaTypes } from "../oci/index.ts";
import { parseDescriptor, parseImageConfig, parseManifest, type ParsedManifest } from "../oci/validate.ts";

export const OCI_LAYOUT_FILE = "oci-layout";
export const OCI_INDEX_FILE = "index.json";
export const DOCKER_MANIFEST_FILE = "manifest.json";
export const DOCKER_REPOSITORIES_FILE = "repositories";
export const OCI_LAYOUT_CONTENT = '{"imageLayoutVersion":"1.0.0"}';
/** containerd's annotation for the full image name (images.AnnotationImageName). */
export const ANNOTATION_IMAGE_NAME = "io.containerd.image.name";
/** OCI's ref name annotation (a tag, or for skopeo/podman sometimes a whole reference). */
export const ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name";

export interface DockerManifestItem {
  readonly Config: string;
  readonly RepoTags: readonly string[] | null;
  readonly Layers: readonly string[];
  readonly LayerSources?: Readonly<Record<string, Descriptor>>;
}

/** The parts of an image config that archives need. */
export interface ConfigFacts {
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
  readonly diffIds: readonly Digest[];
}

export const MANIFEST_TYPES: ReadonlySet<string> = new Set([MediaTypes.ociManifest, MediaTypes.dockerManifest]);
export const INDEX_TYPES: ReadonlySet<string> = new Set([MediaTypes.ociIndex, MediaTypes.dockerManifestList]);

export function parseJson(raw: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(Buffer.from(raw).toString("utf8"));
  } catch (err) {
    throw invalidParameter(`${what}: invalid JSON: ${(err as Error).message}`, { cause: err });
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function withContext<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (isEngineError(err)) throw new EngineError(err.kind, `${what}: ${err.message}`, { cause: err });
    throw err;
  }
}

/** Parses an image manifest or an index (oci/validate), naming the document in errors. @throws invalid-parameter */
export function parseManifestOrIndex(raw: Uint8Array, hint: string, what: string): ParsedManifest {
  return withContext(what, () => parseManifest(raw, hint === "" ? undefined : hint));
}

/** The parts of an image config that archives need (oci/validate parses it). @throws invalid-parameter */
export function parseConfigFacts(raw: Uint8Array, what: string): ConfigFacts {
  const c = withContext(what, () => parseImageConfig(raw));
  return {
    architecture: c.architecture,
    os: c.os,
    ...(c.variant !== undefined ? { variant: c.variant } : {}),
    diffIds: c.rootfs.diff_ids.map((d) => parseDigest(d)),
  };
}

/** @throws invalid-parameter */
export function parseDockerManifest(raw: Uint8Array): DockerManifestItem[] {
  const v = parseJson(raw, DOCKER_MANIFEST_FILE);
  if (!Array.isArray(v)) throw invalidParameter(`${DOCKER_MANIFEST_FILE}: not a JSON array`);
  return v.map((item, i) => {
    const what = `${DOCKER_MANIFEST_FILE}[${i}]`;
    if (!isObject(item)) throw invalidParameter(`${what}: not an object`);
    const { Config, RepoTags, Layers, LayerSources } = item;
    if (typeof Config !== "string" || Config === "") throw invalidParameter(`${what}: no Config`);
    if (!Array.isArray(Layers) || !Layers.every((l): l is string => typeof l === "string")) {
      throw invalidParameter(`${what}: Layers is not a list of paths`);
    }
    if (RepoTags !== null && RepoTags !== undefined && (!Array.isArray(RepoTags) || !RepoTags.every((t) => typeof t === "string"))) {
      throw invalidParameter(`${what}: RepoTags is not a list of names`);
    }
    let sources: Record<string, Descriptor> | undefined;
    if (isObject(LayerSources)) {
      sources = {};
      for (const [k, d] of Object.entries(LayerSources)) sources[k] = parseDescriptor(d, `${what}: LayerSources[${k}]`);
    }
    return {
      Config,
      RepoTags: (RepoTags as string[] | null | undefined) ?? null,
      Layers,
      ...(sources !== undefined ? { LayerSources: sources } : {}),
    };
  });
}

/** The OCI platform of the running host (Go GOARCH names). */
export function hostPlatform(): PlatformSpec {
  const arch: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };
  return { os: "linux", architecture: arch[process.arch] ?? process.arch, ...(process.arch === "arm" ? { variant: "v7" } : {}) };
}
