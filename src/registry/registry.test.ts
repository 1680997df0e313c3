import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kindOf, type Descriptor, type Digest } from "../core/index.ts";
import { parseChallenge, TokenCache } from "./auth-challenge.ts";
import { DockerConfigKeychain, type HelperRunner } from "./keychain.ts";
import { RegistryError, parseErrorBody, redactUrl, toEngineError } from "./registry-error.ts";
import { endpointsFor, isInsecure } from "./registry-hosts.ts";
import { selectPlatform } from "./pull.ts";
import { familiarRef } from "./registry-client.ts";

test("parseChallenge reads Bearer parameters (quoted, escaped, commas in scope) and prefers Bearer over Basic", () => {
  const c = parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/node:pull,push"');
  assert.deepEqual(c, { scheme: "bearer", params: { realm: "https://auth.docker.io/token", service: "registry.docker.io", scope: "repository:library/node:pull,push" } });
  assert.equal(parseChallenge(['Basic realm="x"', 'Bearer realm="y"'])?.scheme, "bearer");
  assert.deepEqual(parseChallenge('Basic realm="Registry \\"Realm\\""'), { scheme: "basic", params: { realm: 'Registry "Realm"' } });
  assert.equal(parseChallenge("Negotiate abc"), undefined);
  assert.equal(parseChallenge(undefined), undefined);
});

test("TokenCache keys ignore scope order and expire tokens", () => {
  let now = 0;
  const c = new TokenCache({ now: () => now });
  const k = TokenCache.key("r", "s", ["b", "a"]);
  assert.equal(k, TokenCache.key("r", "s", ["a", "b"]));
  c.set(k, "t", 300);
  now = 289_000;
  assert.equal(c.get(k), "t");
  now = 291_000;
  assert.equal(c.get(k), undefined);
});

test("error bodies: parsed, and mapped to kinds with Docker's wording", () => {
  assert.deepEqual(parseErrorBody('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}'), [
    { code: "MANIFEST_UNKNOWN", message: "manifest unknown", detail: { Tag: "x" } },
  ]);
  assert.deepEqual(parseErrorBody("<html>"), []);
  const mk = (status: number, code?: string) =>
    new RegistryError({ status, diagnostics: code ? [{ code, message: code.toLowerCase() }] : [], method: "GET", url: "http://h/v2/" });
  const cases: { err: RegistryError; op: "pull" | "push"; kind: string; msg?: RegExp }[] = [
    { err: mk(404, "MANIFEST_UNKNOWN"), op: "pull", kind: "not-found", msg: /^manifest for node:latest not found: manifest unknown/ },
    { err: mk(404, "NAME_UNKNOWN"), op: "pull", kind: "not-found", msg: /^pull access denied for node, repository does not exist or may require 'docker login'/ },
    { err: mk(401, "UNAUTHORIZED"), op: "pull", kind: "not-found", msg: /pull access denied/ },
    { err: mk(401, "UNAUTHORIZED"), op: "push", kind: "unauthorized" },
    { err: mk(403, "DENIED"), op: "push", kind: "unauthorized" },
    { err: mk(404, "BLOB_UNKNOWN"), op: "push", kind: "not-found" },
    { err: mk(429, "TOOMANYREQUESTS"), op: "pull", kind: "unavailable" },
    { err: mk(503), op: "pull", kind: "unavailable" },
    { err: mk(400, "DIGEST_INVALID"), op: "push", kind: "data-loss" },
    { err: mk(400, "MANIFEST_INVALID"), op: "push", kind: "invalid-parameter" },
  ];
  for (const c of cases) {
    const e = toEngineError(c.err, { op: c.op, repo: "node", ref: "node:latest" });
    assert.equal(kindOf(e), c.kind, `${c.err.status} ${c.err.diagnostics[0]?.code} ${c.op}`);
    if (c.msg) assert.match(e.message, c.msg);
  }
  assert.equal(mk(502).temporary, true);
  assert.equal(mk(501).temporary, false);
  assert.equal(mk(404, "NAME_UNKNOWN").temporary, false);
});

test("redactUrl removes userinfo and upload state", () => {
  const r = redactUrl("https://user:pw@h:5000/v2/x/blobs/uploads/u?_state=secretstate&digest=sha256:ab");
  assert.doesNotMatch(r, /pw|secretstate/);
  assert.match(r, /digest=sha256%3Aab|digest=sha256:ab/);
});

test("insecure hosts and endpoint order (mirrors first, Hub served by registry-1)", () => {
  const cfg = { mirrors: { "docker.io": ["http://127.0.0.1:5000", "mirror.example:443"] }, insecure: ["10.0.0.0/8", "reg.local:5000"], certsDir: "/nonexistent" };
  for (const [h, want] of [
    ["localhost:5000", true], ["127.0.0.1:5000", true], ["127.9.9.9", true], ["[::1]:5000", true], ["10.1.2.3:5000", true],
    ["reg.local:5000", true], ["reg.local:6000", false], ["docker.io", false], ["192.168.1.1:5000", false],
  ] as const)
    assert.equal(isInsecure(h, cfg), want, h);
  assert.deepEqual(endpointsFor("docker.io", cfg, { mirrors: true }).map((e) => e.base), ["http://127.0.0.1:5000", "https://mirror.example", "https://registry-1.docker.io"]);
  assert.deepEqual(endpointsFor("index.docker.io", cfg, { mirrors: false }).map((e) => e.base), ["https://registry-1.docker.io"]);
  assert.deepEqual(endpointsFor("127.0.0.1:5000", cfg, { mirrors: true }).map((e) => e.base), ["http://127.0.0.1:5000"]);
  assert.deepEqual(endpointsFor("quay.io", cfg, { mirrors: true }).map((e) => e.base), ["https://quay.io"]);
});

test("DockerConfigKeychain: auths by any key form, Hub key, cred helpers; save writes 0600 in Docker's format", async () => {
  const dir = await mkdtemp(join(tmpdir(), "berth-keychain-"));
  try {
    const path = join(dir, "config.json");
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    await writeFile(
      path,
      JSON.stringify({
        auths: { "https://index.docker.io/v1/": { auth: b64("hub:hubpw") }, "http://reg.local:5000/v2/": { auth: b64("u:p:with:colons") } },
        credHelpers: { "gcr.io": "fake" },
        other: "kept",
      }),
    );
    const calls: string[] = [];
    const runHelper: HelperRunner = async (helper, action, input) => {
      calls.push(`${helper} ${action} ${input}`);
      return action === "get" ? JSON.stringify({ ServerURL: input, Username: "_json_key", Secret: "gsecret" }) : "";
    };
    const kc = new DockerConfigKeychain({ path, runHelper });
    assert.deepEqual(await kc.resolve("docker.io"), { username: "hub", password: "hubpw" });
    assert.deepEqual(await kc.resolve("registry-1.docker.io"), { username: "hub", password: "hubpw" });
    assert.deepEqual(await kc.resolve("reg.local:5000"), { username: "u", password: "p:with:colons" });
    assert.deepEqual(await kc.resolve("gcr.io"), { username: "_json_key", password: "gsecret" });
    assert.deepEqual(calls, ["fake get gcr.io"]);
    assert.equal(await kc.resolve("quay.io"), undefined);

    await kc.save("docker.io", { username: "new", password: "npw" });
    const saved = JSON.parse(await readFile(path, "utf8")) as { auths: Record<string, { auth?: string }>; other: string };
    assert.equal(saved.auths["https://index.docker.io/v1/"]?.auth, b64("new:npw"));
    assert.equal(saved.other, "kept");
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal(await kc.erase("reg.local:5000"), true);
    assert.equal(await kc.resolve("reg.local:5000"), undefined);
    assert.equal(await new DockerConfigKeychain({ path: join(dir, "missing", "c.json") }).resolve("x"), undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("selectPlatform matches os/arch, variant when asked, and arm64's implicit v8", () => {
  const d = (arch: string, variant?: string, os = "linux"): Descriptor => ({
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest: `sha256:${arch.padEnd(64, "0").slice(0, 64).replace(/[^a-f0-9]/g, "a")}` as Digest,
    size: 1,
    platform: { os, architecture: arch, ...(variant ? { variant } : {}) },
  });
  const list = [d("amd64", undefined, "windows"), d("amd64"), d("arm", "v6"), d("arm", "v7"), d("arm64", "v8")];
  assert.equal(selectPlatform(list, { os: "linux", architecture: "amd64" }), list[1]);
  assert.equal(selectPlatform(list, { os: "linux", architecture: "arm", variant: "v7" }), list[3]);
  assert.equal(selectPlatform(list, { os: "linux", architecture: "arm64" }), list[4]);
  assert.equal(selectPlatform([d("arm64")], { os: "linux", architecture: "arm64", variant: "v8" })?.platform?.architecture, "arm64");
  assert.equal(selectPlatform(list, { os: "linux", architecture: "s390x" }), undefined);
});

test("familiarRef shortens Hub names like Docker", () => {
  assert.equal(familiarRef({ domain: "docker.io", path: "library/node", tag: "20" }), "node:20");
  assert.equal(familiarRef({ domain: "docker.io", path: "me/app" }), "me/app:latest");
  assert.equal(familiarRef({ domain: "127.0.0.1:5000", path: "x", digest: "sha256:ab" }), "127.0.0.1:5000/x@sha256:ab");
});
