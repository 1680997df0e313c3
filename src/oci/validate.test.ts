import assert from "node:assert/strict";
import { test } from "node:test";
import { digestOf, kindOf } from "../core/index.ts";
import { MediaTypes } from "./types.ts";
import { layerMediaTypeCompression, parseImageConfig, parseManifest, SCHEMA1_MESSAGE } from "./validate.ts";

const d1 = digestOf("one");
const d2 = digestOf("two");
const enc = (v: unknown): Uint8Array => Buffer.from(typeof v === "string" ? v : JSON.stringify(v));
const desc = (mediaType: string, digest = d1, size = 10): Record<string, unknown> => ({ mediaType, digest, size });

const ociManifest = {
  schemaVersion: 2,
  mediaType: MediaTypes.ociManifest,
  config: desc(MediaTypes.ociConfig, d1, 100),
  layers: [desc(MediaTypes.ociLayerGzip, d2, 2000)],
  annotations: { "org.opencontainers.image.created": "2026-01-01" },
};
const dockerManifest = {
  schemaVersion: 2,
  mediaType: MediaTypes.dockerManifest,
  config: desc(MediaTypes.dockerConfig),
  layers: [desc(MediaTypes.dockerLayerGzip), desc(MediaTypes.dockerLayerGzip, d2)],
};
const ociIndex = {
  schemaVersion: 2,
  mediaType: MediaTypes.ociIndex,
  manifests: [
    { ...desc(MediaTypes.ociManifest), platform: { architecture: "amd64", os: "linux" } },
    { ...desc(MediaTypes.ociManifest, d2), platform: { architecture: "arm64", os: "linux", variant: "v8" } },
  ],
};
const dockerList = { ...ociIndex, mediaType: MediaTypes.dockerManifestList };

test("parseManifest accepts OCI and Docker manifests and indexes", () => {
  const cases: { name: string; input: unknown; hint?: string; kind: "manifest" | "index"; mediaType: string }[] = [
    { name: "oci manifest", input: ociManifest, kind: "manifest", mediaType: MediaTypes.ociManifest },
    { name: "docker manifest", input: dockerManifest, kind: "manifest", mediaType: MediaTypes.dockerManifest },
    { name: "oci index", input: ociIndex, kind: "index", mediaType: MediaTypes.ociIndex },
    { name: "docker list", input: dockerList, kind: "index", mediaType: MediaTypes.dockerManifestList },
    {
      name: "no mediaType, hint says docker",
      input: { ...dockerManifest, mediaType: undefined },
      hint: `${MediaTypes.dockerManifest}; charset=utf-8`,
      kind: "manifest",
      mediaType: MediaTypes.dockerManifest,
    },
    { name: "no mediaType, shape: index", input: { ...ociIndex, mediaType: undefined }, kind: "index", mediaType: MediaTypes.ociIndex },
    {
      name: "no mediaType, shape: manifest, generic hint",
      input: { ...ociManifest, mediaType: undefined },
      hint: "application/octet-stream",
      kind: "manifest",
      mediaType: MediaTypes.ociManifest,
    },
  ];
  for (const c of cases) {
    const r = parseManifest(enc(c.input), c.hint);
    assert.equal(r.kind, c.kind, c.name);
    assert.equal(r.value.mediaType, c.mediaType, c.name);
  }
  const m = parseManifest(enc(ociManifest));
  assert.deepEqual(m, { kind: "manifest", value: ociManifest });
  const i = parseManifest(enc(ociIndex));
  assert.deepEqual(i, { kind: "index", value: ociIndex });
});

test("parseManifest drops unknown fields", () => {
  const r = parseManifest(enc({ ...ociManifest, extra: 1, config: { ...ociManifest.config, data: "AAAA", artifactType: "x" } }));
  assert.equal(r.kind, "manifest");
  assert.deepEqual(r.value, ociManifest);
});

test("parseManifest rejects schema 1 with a clear message", () => {
  const inputs: [unknown, string | undefined][] = [
    [{ schemaVersion: 1, name: "library/busybox", tag: "latest", fsLayers: [], history: [] }, undefined],
    [{ schemaVersion: 1, fsLayers: [] }, MediaTypes.dockerSchema1Signed],
    [dockerManifest, MediaTypes.dockerSchema1],
  ];
  for (const [input, hint] of inputs) {
    assert.throws(
      () => parseManifest(enc(input), hint),
      (err: Error) => kindOf(err) === "invalid-parameter" && err.message === SCHEMA1_MESSAGE,
    );
  }
});

test("parseManifest rejects hostile and malformed input", () => {
  const big = 2 ** 53;
  const cases: { name: string; input: unknown; hint?: string }[] = [
    { name: "not JSON", input: "{not json" },
    { name: "not UTF-8", input: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString("latin1") },
    { name: "array", input: [] },
    { name: "null", input: "null" },
    { name: "string", input: '"manifest"' },
    { name: "schemaVersion 3", input: { ...ociManifest, schemaVersion: 3 } },
    { name: "schemaVersion string", input: { ...ociManifest, schemaVersion: "2" } },
    { name: "unknown mediaType", input: { ...ociManifest, mediaType: "application/vnd.example+json" } },
    { name: "mediaType not a string", input: { ...ociManifest, mediaType: 7 } },
    { name: "body contradicts hint", input: ociManifest, hint: MediaTypes.dockerManifest },
    { name: "index with layers", input: { ...ociIndex, layers: [] } },
    { name: "manifest with manifests", input: { ...ociManifest, manifests: [] } },
    { name: "both shapes, no type", input: { schemaVersion: 2, manifests: [], config: desc("x"), layers: [] } },
    { name: "neither shape", input: { schemaVersion: 2 } },
    { name: "missing config", input: { ...ociManifest, config: undefined } },
    { name: "layers not array", input: { ...ociManifest, layers: {} } },
    { name: "manifests not array", input: { ...ociIndex, manifests: "x" } },
    { name: "bad digest", input: { ...ociManifest, config: { ...ociManifest.config, digest: "sha256:xyz" } } },
    { name: "digest not string", input: { ...ociManifest, config: { ...ociManifest.config, digest: 5 } } },
    { name: "path traversal digest", input: { ...ociManifest, config: { ...ociManifest.config, digest: "sha256:../../etc" } } },
    { name: "unsupported algorithm", input: { ...ociManifest, config: { ...ociManifest.config, digest: "sha512:abcd" } } },
    { name: "negative size", input: { ...ociManifest, layers: [desc(MediaTypes.ociLayer, d1, -1)] } },
    { name: "fractional size", input: { ...ociManifest, layers: [desc(MediaTypes.ociLayer, d1, 1.5)] } },
    { name: "huge size", input: { ...ociManifest, layers: [desc(MediaTypes.ociLayer, d1, big)] } },
    { name: "1e400 size", input: `{"schemaVersion":2,"config":{"mediaType":"a","digest":"${d1}","size":1e400},"layers":[]}` },
    { name: "size string", input: { ...ociManifest, layers: [desc(MediaTypes.ociLayer, d1, "10" as unknown as number)] } },
    { name: "mediaType missing", input: { ...ociManifest, layers: [{ digest: d1, size: 1 }] } },
    { name: "mediaType number", input: { ...ociManifest, layers: [{ mediaType: 1, digest: d1, size: 1 }] } },
    { name: "layer is null", input: { ...ociManifest, layers: [null] } },
    { name: "annotation not string", input: { ...ociManifest, annotations: { a: 1 } } },
    { name: "annotations array", input: { ...ociManifest, annotations: ["a"] } },
    { name: "__proto__ annotation", input: `{"schemaVersion":2,"config":${JSON.stringify(ociManifest.config)},"layers":[],"annotations":{"__proto__":{"polluted":"yes"}}}` },
    { name: "__proto__ string annotation", input: `{"schemaVersion":2,"config":${JSON.stringify(ociManifest.config)},"layers":[],"annotations":{"__proto__":"x"}}` },
    { name: "platform without os", input: { ...ociIndex, manifests: [{ ...desc(MediaTypes.ociManifest), platform: { architecture: "amd64" } }] } },
    { name: "platform os.features not array", input: { ...ociIndex, manifests: [{ ...desc(MediaTypes.ociManifest), platform: { architecture: "amd64", os: "linux", "os.features": "x" } }] } },
    { name: "urls not strings", input: { ...ociManifest, layers: [{ ...desc(MediaTypes.ociLayer), urls: [1] }] } },
    { name: "too large", input: " ".repeat(4 * 1024 * 1024 + 1) },
  ];
  for (const c of cases) {
    assert.throws(
      () => parseManifest(enc(c.input), c.hint),
      (err: unknown) => kindOf(err) === "invalid-parameter",
      c.name,
    );
  }
  assert.equal(({} as Record<string, unknown>)["polluted"], undefined, "no prototype pollution");
});

test("parseManifest keeps constructor-like keys as plain data", () => {
  const raw = `{"schemaVersion":2,"config":${JSON.stringify(ociManifest.config)},"layers":[],"annotations":{"constructor":"c","toString":"t"}}`;
  const r = parseManifest(enc(raw));
  assert.equal(r.value.annotations?.["constructor"], "c");
  assert.equal(Object.getPrototypeOf(r.value.annotations), Object.prototype);
});

const config = {
  architecture: "amd64",
  os: "linux",
  created: "2026-01-01T00:00:00Z",
  config: {
    User: "node",
    Env: ["PATH=/usr/bin", "A=b"],
    Entrypoint: ["docker-entrypoint.sh"],
    Cmd: null,
    ExposedPorts: { "80/tcp": {} },
    Volumes: { "/data": {} },
    WorkingDir: "/app",
    Labels: { "org.example": "yes" },
    StopSignal: "SIGTERM",
    Healthcheck: { Test: ["CMD", "true"], Interval: 30_000_000_000, Retries: 3 },
    OnBuild: null,
    Shell: ["/bin/sh", "-c"],
    ArgsEscaped: true,
  },
  rootfs: { type: "layers", diff_ids: [d1, d2] },
  history: [{ created: "2026-01-01T00:00:00Z", created_by: "ADD x /", empty_layer: false }, { empty_layer: true }],
  docker_version: "20.10.24",
};

test("parseImageConfig accepts a full config and Docker's nulls", () => {
  assert.deepEqual(parseImageConfig(enc(config)), config);
  const docker = {
    architecture: "arm64",
    variant: "v8",
    os: "linux",
    config: { Hostname: "", Env: null, Cmd: ["sh"], Image: "sha256:abc", Labels: null, ExposedPorts: { "53/udp": null } },
    container_config: { Cmd: ["/bin/sh", "-c", "#(nop)"] },
    rootfs: { type: "layers", diff_ids: [] },
    history: null,
  };
  assert.deepEqual(parseImageConfig(enc(docker)), {
    architecture: "arm64",
    variant: "v8",
    os: "linux",
    config: { Cmd: ["sh"], ExposedPorts: { "53/udp": {} } },
    rootfs: { type: "layers", diff_ids: [] },
  });
  assert.deepEqual(parseImageConfig(enc({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, config: null })), {
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: [] },
  });
});

test("parseImageConfig rejects wrong types and hostile input", () => {
  const withConfig = (c: Record<string, unknown>): unknown => ({ ...config, config: { ...config.config, ...c } });
  const cases: { name: string; input: unknown }[] = [
    { name: "not JSON", input: "]" },
    { name: "array", input: [config] },
    { name: "missing os", input: { ...config, os: undefined } },
    { name: "architecture number", input: { ...config, architecture: 64 } },
    { name: "no rootfs", input: { ...config, rootfs: undefined } },
    { name: "rootfs type", input: { ...config, rootfs: { type: "tar", diff_ids: [] } } },
    { name: "diff_ids not array", input: { ...config, rootfs: { type: "layers", diff_ids: d1 } } },
    { name: "bad diff_id", input: { ...config, rootfs: { type: "layers", diff_ids: ["sha256:1234"] } } },
    { name: "Env string", input: withConfig({ Env: "A=b" }) },
    { name: "Env number item", input: withConfig({ Env: ["A=b", 1] }) },
    { name: "Cmd string", input: withConfig({ Cmd: "sh" }) },
    { name: "Entrypoint object", input: withConfig({ Entrypoint: {} }) },
    { name: "ExposedPorts array", input: withConfig({ ExposedPorts: ["80/tcp"] }) },
    { name: "ExposedPorts value string", input: withConfig({ ExposedPorts: { "80/tcp": "yes" } }) },
    { name: "Volumes string", input: withConfig({ Volumes: "/data" }) },
    { name: "Labels number value", input: withConfig({ Labels: { a: 1 } }) },
    { name: "Healthcheck Test string", input: withConfig({ Healthcheck: { Test: "true" } }) },
    { name: "Healthcheck negative interval", input: withConfig({ Healthcheck: { Interval: -1 } }) },
    { name: "Healthcheck huge retries", input: withConfig({ Healthcheck: { Retries: 1e300 } }) },
    { name: "User number", input: withConfig({ User: 0 }) },
    { name: "ArgsEscaped string", input: withConfig({ ArgsEscaped: "true" }) },
    { name: "config array", input: { ...config, config: [] } },
    { name: "history object", input: { ...config, history: {} } },
    { name: "history entry string", input: { ...config, history: ["x"] } },
    { name: "empty_layer string", input: { ...config, history: [{ empty_layer: "true" }] } },
    { name: "created number", input: { ...config, created: 1 } },
    { name: "__proto__ label", input: `{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":{"Labels":{"__proto__":{"isAdmin":true}}}}` },
    { name: "__proto__ volume", input: `{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":{"Volumes":{"__proto__":{}}}}` },
  ];
  for (const c of cases) {
    assert.throws(() => parseImageConfig(enc(c.input)), (err: unknown) => kindOf(err) === "invalid-parameter", c.name);
  }
  assert.equal(({} as Record<string, unknown>)["isAdmin"], undefined);
});

test("errors name the bad field", () => {
  assert.throws(() => parseImageConfig(enc({ ...config, config: { Env: ["a", 2] } })), /config\.Env\[1\] must be a string/);
  assert.throws(() => parseManifest(enc({ ...ociManifest, layers: [desc("x", d1, -5)] })), /layers\[0\]\.size/);
});

test("layerMediaTypeCompression", () => {
  const cases: [string, string][] = [
    [MediaTypes.ociLayer, "none"],
    [MediaTypes.ociLayerGzip, "gzip"],
    [MediaTypes.ociLayerZstd, "zstd"],
    [MediaTypes.ociLayerNondistGzip, "gzip"],
    ["application/vnd.oci.image.layer.nondistributable.v1.tar", "none"],
    ["application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", "zstd"],
    [MediaTypes.dockerLayerGzip, "gzip"],
    [MediaTypes.dockerLayerForeignGzip, "gzip"],
    ["application/vnd.docker.image.rootfs.diff.tar", "none"],
    ["application/vnd.docker.image.rootfs.diff.tar.zstd", "zstd"],
  ];
  for (const [mt, want] of cases) assert.equal(layerMediaTypeCompression(mt), want, mt);
  for (const bad of [MediaTypes.ociConfig, "application/vnd.oci.image.layer.v1.tar+bzip2", "", "toString", "__proto__"]) {
    assert.throws(() => layerMediaTypeCompression(bad), (err: unknown) => kindOf(err) === "invalid-parameter", bad);
  }
});
