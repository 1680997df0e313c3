/**
 * The JSON documents of image archives, validated from `unknown` (private
 * stand-ins until src/oci/validate.ts lands).
 *
 * docker-archive (moby image/tarexport):
 *   manifest.json  [{ "Config": "<path>", "RepoTags": ["busybox:latest"] | null,
 *                     "Layers": ["<path>", ...], "LayerSources"?: { diffID: Descriptor } }]
 *   repositories   { "<familiar name>": { "<tag>": "<hex of the top layer>" } }
 * OCI image layout (image-spec image-layout.md): `oci-layout`, `index.json`, `blobs/<alg>/<hex>`.
 */
import { dataLoss, invalidParameter, isDigest, type Descriptor, type Digest, type PlatformSpec } from "../core/index.ts";
import { MediaTypes, type ImageIndex, type ImageManifest } from "../oci/index.ts";

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

function stringRecord(v: unknown): Record<string, string> | undefined {
  if (!isObject(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) if (typeof x === "string") out[k] = x;
  return out;
}

export function parseDescriptor(v: unknown, what: string): Descriptor {
  if (!isObject(v)) throw invalidParameter(`${what}: descriptor is not an object`);
  const { mediaType, digest, size } = v;
  if (typeof mediaType !== "string" || mediaType === "") throw invalidParameter(`${what}: descriptor has no mediaType`);
  if (typeof digest !== "string" || !isDigest(digest)) {
    throw invalidParameter(`${what}: invalid or unsupported digest ${JSON.stringify(digest)}`);
  }
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw invalidParameter(`${what}: invalid size ${JSON.stringify(size)}`);
  }
  const annotations = stringRecord(v["annotations"]);
  const p = v["platform"];
  let platform: PlatformSpec | undefined;
  if (isObject(p) && typeof p["architecture"] === "string" && typeof p["os"] === "string") {
    platform = {
      architecture: p["architecture"],
      os: p["os"],
      ...(typeof p["variant"] === "string" ? { variant: p["variant"] } : {}),
    };
  }
  const urls = Array.isArray(v["urls"]) ? v["urls"].filter((u): u is string => typeof u === "string") : undefined;
  return {
    mediaType,
    digest,
    size,
    ...(annotations !== undefined ? { annotations } : {}),
    ...(platform !== undefined ? { platform } : {}),
    ...(urls !== undefined ? { urls } : {}),
  };
}

/** Parses an image manifest or an index. `hint` is the media type of the descriptor that named it. */
export function parseManifestOrIndex(
  raw: Uint8Array,
  hint: string,
  what: string,
): { kind: "manifest"; value: ImageManifest } | { kind: "index"; value: ImageIndex } {
  const v = parseJson(raw, what);
  if (!isObject(v)) throw invalidParameter(`${what}: not a JSON object`);
  if (v["schemaVersion"] !== 2) throw invalidParameter(`${what}: unsupported schemaVersion ${JSON.stringify(v["schemaVersion"])}`);
  const mt = typeof v["mediaType"] === "string" ? v["mediaType"] : hint;
  if (typeof v["mediaType"] === "string" && hint !== "" && v["mediaType"] !== hint) {
    throw dataLoss(`${what}: media type ${v["mediaType"]} does not match its descriptor's ${hint}`);
  }
  const annotations = stringRecord(v["annotations"]);
  const base = { schemaVersion: 2 as const, ...(typeof v["mediaType"] === "string" ? { mediaType: mt } : {}), ...(annotations ? { annotations } : {}) };
  if (INDEX_TYPES.has(mt) || (!MANIFEST_TYPES.has(mt) && Array.isArray(v["manifests"]))) {
    if (!Array.isArray(v["manifests"])) throw invalidParameter(`${what}: index has no manifests`);
    const manifests = v["manifests"].map((d, i) => parseDescriptor(d, `${what}: manifests[${i}]`));
    return { kind: "index", value: { ...base, manifests } };
  }
  if (MANIFEST_TYPES.has(mt) || (mt === "" && isObject(v["config"]))) {
    const config = parseDescriptor(v["config"], `${what}: config`);
    if (!Array.isArray(v["layers"])) throw invalidParameter(`${what}: manifest has no layers`);
    const layers = v["layers"].map((d, i) => parseDescriptor(d, `${what}: layers[${i}]`));
    return { kind: "manifest", value: { ...base, config, layers } };
  }
  throw invalidParameter(`${what}: unsupported manifest media type ${JSON.stringify(mt)}`);
}

/** @throws invalid-parameter */
export function parseConfigFacts(raw: Uint8Array, what: string): ConfigFacts {
  const v = parseJson(raw, what);
  if (!isObject(v)) throw invalidParameter(`${what}: image config is not a JSON object`);
  const rootfs = v["rootfs"];
  if (!isObject(rootfs) || !Array.isArray(rootfs["diff_ids"])) throw invalidParameter(`${what}: image config has no rootfs.diff_ids`);
  const diffIds = rootfs["diff_ids"].map((d) => {
    if (typeof d !== "string" || !isDigest(d)) throw invalidParameter(`${what}: invalid diff_id ${JSON.stringify(d)}`);
    return d;
  });
  return {
    architecture: typeof v["architecture"] === "string" ? v["architecture"] : "",
    os: typeof v["os"] === "string" ? v["os"] : "",
    ...(typeof v["variant"] === "string" ? { variant: v["variant"] } : {}),
    diffIds,
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

/** The media type family of a layer: how its bytes are compressed, judged by media type. */
export function layerCompressionOf(mediaType: string): "none" | "gzip" | "zstd" | "unknown" {
  if (mediaType.endsWith("+gzip") || mediaType.endsWith(".tar.gzip")) return "gzip";
  if (mediaType.endsWith("+zstd")) return "zstd";
  if (mediaType.endsWith(".tar") || mediaType === "application/vnd.docker.image.rootfs.diff.tar") return "none";
  return "unknown";
}

/** The OCI platform of the running host (Go GOARCH names). */
export function hostPlatform(): PlatformSpec {
  const arch: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };
  return { os: "linux", architecture: arch[process.arch] ?? process.arch, ...(process.arch === "arm" ? { variant: "v7" } : {}) };
}
