import { test } from "node:test";
import assert from "node:assert/strict";
import { kindOf } from "../core/index.ts";
import type { EngineConfig } from "./config.ts";
import { parsePullPolicy } from "./image-ensure.ts";
import { parsePlatform } from "./image-pull.ts";
import { createRegistryClient, dockerConfigPath, registryConfig } from "./registry-client-factory.ts";

const base: EngineConfig = {
  root: "/r",
  runRoot: "/run/r",
  configFile: "/etc/berth/config.json",
  registryMirrors: [],
  insecureRegistries: [],
  runtime: undefined,
  sourceDateEpoch: undefined,
};

test("dockerConfigPath honours DOCKER_CONFIG, then HOME", () => {
  assert.equal(dockerConfigPath({ DOCKER_CONFIG: "/cfg", HOME: "/home/u" }), "/cfg/config.json");
  assert.equal(dockerConfigPath({ DOCKER_CONFIG: "", HOME: "/home/u" }), "/home/u/.docker/config.json");
});

test("registryConfig: mirrors serve docker.io only; insecure and certs.d carried over", () => {
  const c = registryConfig({ ...base, registryMirrors: ["http://127.0.0.1:5000"], insecureRegistries: ["reg:5000", "10.0.0.0/8"] }, { env: { DOCKER_CONFIG: "/d" } });
  assert.deepEqual(c.mirrors, { "docker.io": ["http://127.0.0.1:5000"] });
  assert.deepEqual(c.insecure, ["reg:5000", "10.0.0.0/8"]);
  assert.equal(c.certsDir, "/etc/docker/certs.d");
  assert.equal(c.dockerConfigPath, "/d/config.json");
  assert.deepEqual(registryConfig(base, { env: {} }).mirrors, {});
});

test("createRegistryClient sets berth's user agent and is disposable", async () => {
  const c = createRegistryClient(base, { env: { DOCKER_CONFIG: "/d" } });
  assert.match(c.userAgent, /^berth\/\d+\.\d+\.\d+$/);
  await c[Symbol.asyncDispose]();
  assert.equal(createRegistryClient(base, { userAgent: "x/1" }).userAgent, "x/1");
});

test("parsePlatform reads os[/arch[/variant]] with Docker's aliases", () => {
  assert.deepEqual(parsePlatform("linux/arm64/v8"), { os: "linux", architecture: "arm64", variant: "v8" });
  assert.deepEqual(parsePlatform("Linux/x86_64"), { os: "linux", architecture: "amd64" });
  assert.deepEqual(parsePlatform("linux/aarch64"), { os: "linux", architecture: "arm64" });
  for (const bad of ["", "linux/", "a/b/c/d"]) assert.equal(kindOf(captured(() => parsePlatform(bad))), "invalid-parameter", bad);
});

test("parsePullPolicy: missing (default), always, never; anything else is invalid", () => {
  assert.equal(parsePullPolicy(undefined), "missing");
  assert.equal(parsePullPolicy("always"), "always");
  assert.equal(parsePullPolicy("never"), "never");
  assert.equal(kindOf(captured(() => parsePullPolicy("sometimes"))), "invalid-parameter");
});

function captured(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}
