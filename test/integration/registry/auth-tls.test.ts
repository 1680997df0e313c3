import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFile, mkdir, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kindOf } from "../../../src/core/index.ts";
import { DockerConfigKeychain, RegistryClient, StaticKeychain, login, logout, pullImage, pushImage } from "../../../src/registry/index.ts";
import { selfSignedCert, startRegistry, startTokenServer } from "../../../src/testing/registry-server.ts";
import { requires } from "../../../src/testing/requires.ts";
import { makeImage, tempStore } from "./helpers.ts";

const gate = { skip: requires("registry") };

test("basic auth (htpasswd): anonymous is refused, login writes config.json 0600, then push/pull work, logout erases", gate, async () => {
  const reg = await startRegistry({ htpasswd: { username: "alice", password: "s3cret" } });
  const dir = await mkdtemp(join(tmpdir(), "berth-dockercfg-"));
  const configPath = join(dir, "config.json");
  const src = await tempStore();
  const config = { mirrors: {}, insecure: [], dockerConfigPath: configPath };
  try {
    const img = await makeImage(src.store, { layerSizes: [4096] });
    const ref = { domain: reg.host, path: "private/app", tag: "1" };
    const anon = new RegistryClient({ config });
    await assert.rejects(pushImage({ client: anon, ref, store: src.store, manifest: img.manifest }), (e) => kindOf(e) === "unauthorized");
    await assert.rejects(anon.resolve(ref), (e) => {
      assert.equal(kindOf(e), "not-found");
      assert.match((e as Error).message, /^pull access denied for 127\.0\.0\.1:\d+\/private\/app, repository does not exist or may require 'docker login'/);
      return true;
    });
    await assert.rejects(login({ client: anon, registry: reg.host, username: "alice", password: "wrong" }), (e) => {
      assert.equal(kindOf(e), "unauthorized");
      assert.doesNotMatch((e as Error).message, /wrong/);
      return true;
    });
    await anon.close();

    assert.equal(await login({ client: anon, registry: reg.host, username: "alice", password: "s3cret" }), "Login Succeeded");
    const file = JSON.parse(await readFile(configPath, "utf8")) as { auths: Record<string, { auth: string }> };
    assert.equal(file.auths[reg.host]?.auth, Buffer.from("alice:s3cret").toString("base64"));
    assert.equal((await stat(configPath)).mode & 0o777, 0o600);

    const authed = new RegistryClient({ config });
    try {
      await pushImage({ client: authed, ref, store: src.store, manifest: img.manifest });
      const dst = await tempStore();
      try {
        const got = await pullImage({ client: authed, ref, store: dst.store });
        assert.equal(got.manifest.digest, img.manifest.digest);
      } finally {
        await dst.dispose();
      }
    } finally {
      await authed.close();
    }
    assert.equal(await logout({ registry: reg.host, configPath }), true);
    assert.equal(await new DockerConfigKeychain({ path: configPath }).resolve(reg.host), undefined);
    assert.equal(await logout({ registry: reg.host, configPath }), false);
  } finally {
    await reg.stop();
    await src.dispose();
    await rm(dir, { recursive: true, force: true });
  }
});

test("token auth: anonymous pull, authenticated push, tokens cached per scope, bad password is unauthorized", gate, async () => {
  const tokens = await startTokenServer({ users: { bob: "pw" }, anonymousPull: true });
  const reg = await startRegistry({ token: { realm: tokens.realm, service: tokens.service, issuer: tokens.issuer, rootCertBundle: tokens.rootCertBundle } });
  const src = await tempStore();
  const dst = await tempStore();
  const config = { mirrors: {}, insecure: [] };
  const ref = { domain: reg.host, path: "tok/app", tag: "1" };
  try {
    const img = await makeImage(src.store, { layerSizes: [1000, 2000] });
    const anon = new RegistryClient({ config, keychain: new StaticKeychain({}) });
    await assert.rejects(pushImage({ client: anon, ref, store: src.store, manifest: img.manifest }), (e) => kindOf(e) === "unauthorized");
    await anon.close();

    const bad = new RegistryClient({ config, keychain: new StaticKeychain({ [reg.host]: { username: "bob", password: "nope" } }) });
    await assert.rejects(pushImage({ client: bad, ref, store: src.store, manifest: img.manifest }), (e) => {
      assert.equal(kindOf(e), "unauthorized");
      assert.doesNotMatch((e as Error).message, /nope/);
      return true;
    });
    await bad.close();

    const bob = new RegistryClient({ config, keychain: new StaticKeychain({ [reg.host]: { username: "bob", password: "pw" } }) });
    await pushImage({ client: bob, ref, store: src.store, manifest: img.manifest });
    assert.ok(tokens.stats.lastScopes.includes("repository:tok/app:pull,push"), tokens.stats.lastScopes.join(" "));
    await bob.close();

    const reader = new RegistryClient({ config, keychain: new StaticKeychain({}) });
    const before = tokens.stats.requests;
    const got = await pullImage({ client: reader, ref, store: dst.store });
    assert.equal(got.manifest.digest, img.manifest.digest);
    // One token for the pull scope, reused for the manifest, config and both layers.
    assert.equal(tokens.stats.requests - before, 1);
    await reader.close();
  } finally {
    await reg.stop();
    await tokens.stop();
    await src.dispose();
    await dst.dispose();
  }
});

test("TLS with a self-signed CA from certsDir; without it the connection is refused", gate, async () => {
  const reg = await startRegistry({ tls: true });
  const src = await tempStore();
  const dst = await tempStore();
  const emptyCerts = await mkdtemp(join(tmpdir(), "berth-certs-"));
  try {
    assert.ok(reg.url.startsWith("https://"));
    const img = await makeImage(src.store, { layerSizes: [5000] });
    const ref = { domain: reg.host, path: "tls/app", tag: "1" };
    const client = new RegistryClient({ config: { mirrors: {}, insecure: [], certsDir: reg.certsDir! } });
    await pushImage({ client, ref, store: src.store, manifest: img.manifest });
    const got = await pullImage({ client, ref, store: dst.store });
    assert.equal(got.manifest.digest, img.manifest.digest);
    await client.close();

    // Same host, no certs.d entry: 127.0.0.1 is spoken to over plain HTTP, which the TLS server answers with 400.
    const noCa = new RegistryClient({ config: { mirrors: {}, insecure: [], certsDir: emptyCerts }, retry: { attempts: 1 } });
    await assert.rejects(noCa.resolve(ref), (e) => {
      assert.equal(kindOf(e), "invalid-parameter");
      return true;
    });
    await noCa.close();
    // A certs.d entry with some other CA: HTTPS is used and verification fails.
    const other = await selfSignedCert(emptyCerts, "other", { cn: "other", ips: ["127.0.0.1"] });
    await mkdir(join(emptyCerts, reg.host));
    await copyFile(other.certPath, join(emptyCerts, reg.host, "ca.crt"));
    const badCa = new RegistryClient({ config: { mirrors: {}, insecure: [], certsDir: emptyCerts }, retry: { attempts: 1 } });
    await assert.rejects(badCa.resolve(ref), (e) => {
      assert.equal(kindOf(e), "unavailable");
      assert.match((e as Error).message, /self.signed|certificate/i);
      return true;
    });
    await badCa.close();
  } finally {
    await reg.stop();
    await src.dispose();
    await dst.dispose();
    await rm(emptyCerts, { recursive: true, force: true });
  }
});
