/**
 * Untrusted JSON → typed OCI values. Manifests, indexes and image configs come
 * from registries, archives and disk; nothing else in berth reads them before
 * they pass through here.
 *
 * - Every value is type-checked and copied into a fresh object with only the
 *   known fields, so the result matches the TypeScript types exactly.
 * - String maps (labels, annotations) are copied key by key as own data
 *   properties; a `__proto__` key is rejected outright.
 * - Sizes are non-negative safe integers; digests go through parseDigest.
 * - Errors are `invalid-parameter` with the JSON path of the bad field.
 *
 * Specs: OCI image-spec manifest.md, image-index.md, config.md, descriptor.md;
 * Docker image manifest v2 schema 2.
 */
import { invalidParameter, parseDigest, type Descriptor, type Digest, type EngineError } from "../core/index.ts";
import {
  MediaTypes,
  type ContainerConfig,
  type HealthConfig,
  type HistoryEntry,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  type PlatformSpec,
} from "./types.ts";

/** Manifests larger than this are refused (the distribution spec's registries use 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Image configs larger than this are refused. */
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

export type ParsedManifest = { kind: "manifest"; value: ImageManifest } | { kind: "index"; value: ImageIndex };
export type LayerCompression = "gzip" | "zstd" | "none";

export const SCHEMA1_MESSAGE = "schema 1 manifests are not supported: push the image again with a current Docker";

type Obj = Record<string, unknown>;

class Ctx {
  readonly what: string;
  constructor(what: string) {
    this.what = what;
  }
  fail(path: string, msg: string): EngineError {
    return invalidParameter(`invalid ${this.what}: ${path === "" ? "" : `${path} `}${msg}`);
  }
}

function decodeJson(ctx: Ctx, raw: Uint8Array, max: number): unknown {
  if (raw.byteLength > max) throw ctx.fail("", `is ${raw.byteLength} bytes, more than the ${max} allowed`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch (err) {
    throw invalidParameter(`invalid ${ctx.what}: not UTF-8`, { cause: err });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw invalidParameter(`invalid ${ctx.what}: not JSON (${(err as Error).message})`, { cause: err });
  }
}

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function obj(ctx: Ctx, v: unknown, path: string): Obj {
  if (!isObj(v)) throw ctx.fail(path, "must be an object");
  return v;
}

function optStr(ctx: Ctx, o: Obj, key: string, path: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw ctx.fail(`${path}${key}`, "must be a string");
  return v;
}

function reqStr(ctx: Ctx, o: Obj, key: string, path: string): string {
  const v = optStr(ctx, o, key, path);
  if (v === undefined) throw ctx.fail(`${path}${key}`, "is required");
  return v;
}

function strArray(ctx: Ctx, v: unknown, path: string): string[] {
  if (!Array.isArray(v)) throw ctx.fail(path, "must be an array of strings");
  return v.map((s, i) => {
    if (typeof s !== "string") throw ctx.fail(`${path}[${i}]`, "must be a string");
    return s;
  });
}

function nonNegInt(ctx: Ctx, v: unknown, path: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw ctx.fail(path, "must be a non-negative integer below 2^53");
  }
  return v;
}

/** Copies a JSON object of strings into a fresh object, key by key, as own data properties. */
function strMap(ctx: Ctx, v: unknown, path: string): Record<string, string> {
  const o = obj(ctx, v, path);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(o)) {
    if (k === "__proto__") throw ctx.fail(path, `has a forbidden key "__proto__"`);
    if (typeof val !== "string") throw ctx.fail(`${path}[${JSON.stringify(k)}]`, "must be a string");
    Object.defineProperty(out, k, { value: val, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** A JSON object used as a set (ExposedPorts, Volumes): values must be objects; they become `{}`. */
function setMap(ctx: Ctx, v: unknown, path: string): Record<string, object> {
  const o = obj(ctx, v, path);
  const out: Record<string, object> = {};
  for (const [k, val] of Object.entries(o)) {
    if (k === "__proto__") throw ctx.fail(path, `has a forbidden key "__proto__"`);
    if (val !== null && !isObj(val)) throw ctx.fail(`${path}[${JSON.stringify(k)}]`, "must be an object");
    Object.defineProperty(out, k, { value: {}, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function digestAt(ctx: Ctx, v: unknown, path: string): Digest {
  if (typeof v !== "string") throw ctx.fail(path, "must be a digest string");
  try {
    return parseDigest(v);
  } catch (err) {
    throw invalidParameter(`invalid ${ctx.what}: ${path} ${(err as Error).message}`, { cause: err });
  }
}

function parsePlatform(ctx: Ctx, v: unknown, path: string): PlatformSpec {
  const o = obj(ctx, v, path);
  const p: { -readonly [K in keyof PlatformSpec]: PlatformSpec[K] } = {
    architecture: reqStr(ctx, o, "architecture", `${path}.`),
    os: reqStr(ctx, o, "os", `${path}.`),
  };
  const variant = optStr(ctx, o, "variant", `${path}.`);
  if (variant !== undefined) p.variant = variant;
  const osVersion = optStr(ctx, o, "os.version", `${path}.`);
  if (osVersion !== undefined) p["os.version"] = osVersion;
  if (o["os.features"] !== undefined) p["os.features"] = strArray(ctx, o["os.features"], `${path}["os.features"]`);
  return p;
}

function parseDescriptorAt(ctx: Ctx, v: unknown, path: string): Descriptor {
  const o = obj(ctx, v, path);
  const mediaType = reqStr(ctx, o, "mediaType", `${path}.`);
  const d: { -readonly [K in keyof Descriptor]: Descriptor[K] } = {
    mediaType,
    digest: digestAt(ctx, o["digest"], `${path}.digest`),
    size: nonNegInt(ctx, o["size"], `${path}.size`),
  };
  if (o["annotations"] !== undefined && o["annotations"] !== null) {
    d.annotations = strMap(ctx, o["annotations"], `${path}.annotations`);
  }
  if (o["platform"] !== undefined && o["platform"] !== null) d.platform = parsePlatform(ctx, o["platform"], `${path}.platform`);
  if (o["urls"] !== undefined && o["urls"] !== null) d.urls = strArray(ctx, o["urls"], `${path}.urls`);
  return d;
}

/** Validates one descriptor from untrusted JSON. @throws invalid-parameter */
export function parseDescriptor(v: unknown, what = "descriptor"): Descriptor {
  return parseDescriptorAt(new Ctx(what), v, "descriptor");
}

const manifestTypes = new Set<string>([MediaTypes.ociManifest, MediaTypes.dockerManifest]);
const indexTypes = new Set<string>([MediaTypes.ociIndex, MediaTypes.dockerManifestList]);
const schema1Types = new Set<string>([MediaTypes.dockerSchema1, MediaTypes.dockerSchema1Signed]);

/**
 * Parses a manifest or an index (OCI or Docker schema 2). The media type is
 * the body's `mediaType` when present, else `mediaTypeHint` (a descriptor's or
 * a Content-Type), else inferred from the shape (`manifests` → index,
 * `config` → manifest).
 * @throws invalid-parameter for anything malformed, for schema 1, and for a
 *   body whose media type contradicts the hint
 */
export function parseManifest(raw: Uint8Array, mediaTypeHint?: string): ParsedManifest {
  const ctx = new Ctx("manifest");
  const body = obj(ctx, decodeJson(ctx, raw, MAX_MANIFEST_BYTES), "");
  const hint = mediaTypeHint?.split(";")[0]?.trim();
  const bodyType = optStr(ctx, body, "mediaType", "");

  const schema1Hint = hint !== undefined && schema1Types.has(hint);
  if (body["schemaVersion"] === 1 || schema1Hint || (bodyType !== undefined && schema1Types.has(bodyType)) || "fsLayers" in body) {
    throw invalidParameter(SCHEMA1_MESSAGE);
  }
  if (body["schemaVersion"] !== 2) throw ctx.fail("schemaVersion", "must be 2");

  const known = (t: string | undefined): t is string => t !== undefined && (manifestTypes.has(t) || indexTypes.has(t));
  if (bodyType !== undefined && !known(bodyType)) throw invalidParameter(`unsupported manifest media type: ${bodyType}`);
  if (bodyType !== undefined && known(hint) && bodyType !== hint) {
    throw invalidParameter(`manifest media type ${bodyType} does not match the expected ${hint}`);
  }
  let mediaType = bodyType ?? (known(hint) ? hint : undefined);
  const hasManifests = "manifests" in body;
  const hasConfig = "config" in body || "layers" in body;
  if (mediaType === undefined) {
    if (hasManifests && hasConfig) throw ctx.fail("", "has both manifests and config/layers");
    if (hasManifests) mediaType = MediaTypes.ociIndex;
    else if (hasConfig) mediaType = MediaTypes.ociManifest;
    else throw ctx.fail("", "is neither an image manifest nor an index");
  }
  const annotations =
    body["annotations"] === undefined || body["annotations"] === null
      ? undefined
      : strMap(ctx, body["annotations"], "annotations");

  if (indexTypes.has(mediaType)) {
    if (hasConfig) throw ctx.fail("", `of type ${mediaType} must not have config or layers`);
    if (!Array.isArray(body["manifests"])) throw ctx.fail("manifests", "must be an array");
    const manifests = body["manifests"].map((m, i) => parseDescriptorAt(ctx, m, `manifests[${i}]`));
    const value: ImageIndex = { schemaVersion: 2, mediaType, manifests, ...(annotations && { annotations }) };
    return { kind: "index", value };
  }
  if (hasManifests) throw ctx.fail("", `of type ${mediaType} must not have manifests`);
  const config = parseDescriptorAt(ctx, body["config"], "config");
  if (!Array.isArray(body["layers"])) throw ctx.fail("layers", "must be an array");
  const layers = body["layers"].map((l, i) => parseDescriptorAt(ctx, l, `layers[${i}]`));
  const value: ImageManifest = { schemaVersion: 2, mediaType, config, layers, ...(annotations && { annotations }) };
  return { kind: "manifest", value };
}

function parseHealth(ctx: Ctx, v: unknown, path: string): HealthConfig {
  const o = obj(ctx, v, path);
  const h: { -readonly [K in keyof HealthConfig]: HealthConfig[K] } = {};
  if (o["Test"] !== undefined && o["Test"] !== null) h.Test = strArray(ctx, o["Test"], `${path}.Test`);
  for (const k of ["Interval", "Timeout", "StartPeriod", "StartInterval", "Retries"] as const) {
    if (o[k] !== undefined && o[k] !== null) h[k] = nonNegInt(ctx, o[k], `${path}.${k}`);
  }
  return h;
}

function parseContainerConfig(ctx: Ctx, v: unknown, path: string): ContainerConfig {
  const o = obj(ctx, v, path);
  const c: { -readonly [K in keyof ContainerConfig]: ContainerConfig[K] } = {};
  const p = `${path}.`;
  const present = (k: string): boolean => o[k] !== undefined && o[k] !== null;
  for (const k of ["User", "WorkingDir", "StopSignal"] as const) {
    const s = optStr(ctx, o, k, p);
    if (s !== undefined) c[k] = s;
  }
  if (present("Env")) c.Env = strArray(ctx, o["Env"], `${p}Env`);
  for (const k of ["Entrypoint", "Cmd", "OnBuild"] as const) {
    if (o[k] === null) c[k] = null;
    else if (o[k] !== undefined) c[k] = strArray(ctx, o[k], `${p}${k}`);
  }
  if (present("Shell")) c.Shell = strArray(ctx, o["Shell"], `${p}Shell`);
  if (present("ExposedPorts")) c.ExposedPorts = setMap(ctx, o["ExposedPorts"], `${p}ExposedPorts`);
  if (present("Volumes")) c.Volumes = setMap(ctx, o["Volumes"], `${p}Volumes`);
  if (present("Labels")) c.Labels = strMap(ctx, o["Labels"], `${p}Labels`);
  if (present("Healthcheck")) c.Healthcheck = parseHealth(ctx, o["Healthcheck"], `${p}Healthcheck`);
  if (present("ArgsEscaped")) {
    if (typeof o["ArgsEscaped"] !== "boolean") throw ctx.fail(`${p}ArgsEscaped`, "must be a boolean");
    c.ArgsEscaped = o["ArgsEscaped"];
  }
  return c;
}

function parseHistory(ctx: Ctx, v: unknown, path: string): HistoryEntry[] {
  if (!Array.isArray(v)) throw ctx.fail(path, "must be an array");
  return v.map((e, i) => {
    const at = `${path}[${i}]`;
    const o = obj(ctx, e, at);
    const h: { -readonly [K in keyof HistoryEntry]: HistoryEntry[K] } = {};
    for (const k of ["created", "created_by", "author", "comment"] as const) {
      const s = optStr(ctx, o, k, `${at}.`);
      if (s !== undefined) h[k] = s;
    }
    if (o["empty_layer"] !== undefined && o["empty_layer"] !== null) {
      if (typeof o["empty_layer"] !== "boolean") throw ctx.fail(`${at}.empty_layer`, "must be a boolean");
      h.empty_layer = o["empty_layer"];
    }
    return h;
  });
}

/**
 * Parses an image config (OCI config.md, plus Docker's fields). Unknown fields
 * are dropped; `null` for an optional field counts as absent (Docker writes
 * `"Env": null`), except for Cmd/Entrypoint/OnBuild, where null is kept.
 * @throws invalid-parameter
 */
export function parseImageConfig(raw: Uint8Array): ImageConfig {
  const ctx = new Ctx("image config");
  const o = obj(ctx, decodeJson(ctx, raw, MAX_CONFIG_BYTES), "");
  const rootfs = obj(ctx, o["rootfs"], "rootfs");
  if (rootfs["type"] !== "layers") throw ctx.fail("rootfs.type", `must be "layers"`);
  if (!Array.isArray(rootfs["diff_ids"])) throw ctx.fail("rootfs.diff_ids", "must be an array of digests");
  const diffIds = rootfs["diff_ids"].map((d, i) => digestAt(ctx, d, `rootfs.diff_ids[${i}]`));
  const c: { -readonly [K in keyof ImageConfig]: ImageConfig[K] } = {
    architecture: reqStr(ctx, o, "architecture", ""),
    os: reqStr(ctx, o, "os", ""),
    rootfs: { type: "layers", diff_ids: diffIds },
  };
  for (const k of ["created", "author", "variant", "comment", "docker_version"] as const) {
    const s = optStr(ctx, o, k, "");
    if (s !== undefined) c[k] = s;
  }
  if (o["config"] !== undefined && o["config"] !== null) c.config = parseContainerConfig(ctx, o["config"], "config");
  if (o["history"] !== undefined && o["history"] !== null) c.history = parseHistory(ctx, o["history"], "history");
  return c;
}

const ociLayer = /^application\/vnd\.oci\.image\.layer\.(?:nondistributable\.)?v1\.tar(?:\+(gzip|zstd))?$/;
const dockerLayers: Readonly<Record<string, LayerCompression>> = {
  "application/vnd.docker.image.rootfs.diff.tar": "none",
  [MediaTypes.dockerLayerGzip]: "gzip",
  [MediaTypes.dockerLayerForeignGzip]: "gzip",
  "application/vnd.docker.image.rootfs.diff.tar.zstd": "zstd",
};

/** The compression of a layer blob, from its media type. @throws invalid-parameter for a non-layer or unknown type */
export function layerMediaTypeCompression(mediaType: string): LayerCompression {
  const m = ociLayer.exec(mediaType);
  if (m !== null) return (m[1] as "gzip" | "zstd" | undefined) ?? "none";
  const d = Object.hasOwn(dockerLayers, mediaType) ? dockerLayers[mediaType] : undefined;
  if (d !== undefined) return d;
  throw invalidParameter(`unsupported layer media type: ${mediaType}`);
}
