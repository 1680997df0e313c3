import { test } from "node:test";
import assert from "node:assert/strict";
import { kindOf, type Digest } from "../core/index.ts";
import {
  familiarName,
  familiarString,
  isFullImageId,
  looksLikeImageId,
  normalizeReference,
  parseNormalizedNamed,
  parseReference,
  referenceName,
  referenceString,
  withDigest,
  withTag,
} from "./reference.ts";

const HEX = "7cc4b5aefd1d0cadf8d97d4350462ba51c694ebca145b08d7d41b41acc8db5aa";
const DGST = `sha256:${HEX}`;

interface Want {
  domain: string;
  path: string;
  tag?: string;
  digest?: string;
  familiar?: string;
}
type Case = { input: string; want: Want } | { input: string; wantError: string | RegExp };

const cases: Case[] = [
  { input: "node", want: { domain: "docker.io", path: "library/node", familiar: "node" } },
  { input: "node:20", want: { domain: "docker.io", path: "library/node", tag: "20", familiar: "node:20" } },
  { input: "docker.io/node", want: { domain: "docker.io", path: "library/node", familiar: "node" } },
  { input: "docker.io/library/node", want: { domain: "docker.io", path: "library/node", familiar: "node" } },
  { input: "index.docker.io/library/node:1", want: { domain: "docker.io", path: "library/node", tag: "1", familiar: "node:1" } },
  { input: "index.docker.io/user/app", want: { domain: "docker.io", path: "user/app", familiar: "user/app" } },
  { input: "user/app", want: { domain: "docker.io", path: "user/app", familiar: "user/app" } },
  { input: "library/a/b", want: { domain: "docker.io", path: "library/a/b", familiar: "library/a/b" } },
  { input: "a/b/c/d", want: { domain: "docker.io", path: "a/b/c/d", familiar: "a/b/c/d" } },
  { input: "localhost/app", want: { domain: "localhost", path: "app", familiar: "localhost/app" } },
  { input: "localhost:5000/a/b", want: { domain: "localhost:5000", path: "a/b", familiar: "localhost:5000/a/b" } },
  { input: "localhost:5000/a:tag", want: { domain: "localhost:5000", path: "a", tag: "tag" } },
  { input: "example.com/app", want: { domain: "example.com", path: "app" } },
  { input: "registry.example.com:443/team/app:v1.2.3", want: { domain: "registry.example.com:443", path: "team/app", tag: "v1.2.3" } },
  { input: "127.0.0.1:5000/x", want: { domain: "127.0.0.1:5000", path: "x" } },
  { input: "[::1]:5000/x:y", want: { domain: "[::1]:5000", path: "x", tag: "y" } },
  { input: "[2001:db8::1]/x", want: { domain: "[2001:db8::1]", path: "x" } },
  { input: "Foo/bar", want: { domain: "Foo", path: "bar", familiar: "Foo/bar" } },
  { input: "Example.COM/app", want: { domain: "Example.COM", path: "app" } },
  { input: "myhost:5000/app", want: { domain: "myhost:5000", path: "app" } },
  { input: "a.b_c__d-e--f", want: { domain: "docker.io", path: "library/a.b_c__d-e--f" } },
  { input: "test_com", want: { domain: "docker.io", path: "library/test_com" } },
  { input: "test.com:tag", want: { domain: "docker.io", path: "library/test.com", tag: "tag" } },
  { input: "test.com:5000", want: { domain: "docker.io", path: "library/test.com", tag: "5000" } },
  { input: "node:Tag_With.Upper-1", want: { domain: "docker.io", path: "library/node", tag: "Tag_With.Upper-1" } },
  { input: `node:${"a".repeat(128)}`, want: { domain: "docker.io", path: "library/node", tag: "a".repeat(128) } },
  { input: `node@${DGST}`, want: { domain: "docker.io", path: "library/node", digest: DGST, familiar: `node@${DGST}` } },
  { input: `user/app:1@${DGST}`, want: { domain: "docker.io", path: "user/app", tag: "1", digest: DGST, familiar: `user/app:1@${DGST}` } },
  { input: `localhost:5000/a@${DGST}`, want: { domain: "localhost:5000", path: "a", digest: DGST } },
  { input: `${"a".repeat(253)}/b`, want: { domain: "docker.io", path: `${"a".repeat(253)}/b` } },

  { input: "", wantError: "invalid reference format" },
  { input: "Node", wantError: "invalid reference format: repository name (library/Node) must be lowercase" },
  { input: "user/App:1", wantError: "invalid reference format: repository name (user/App) must be lowercase" },
  { input: "localhost:5000/Foo", wantError: "invalid reference format: repository name (Foo) must be lowercase" },
  { input: HEX, wantError: `invalid repository name (${HEX}), cannot specify 64-byte hexadecimal strings` },
  { input: "node:", wantError: "invalid reference format" },
  { input: ":tag", wantError: "invalid reference format" },
  { input: "node:-tag", wantError: "invalid reference format" },
  { input: `node:${"a".repeat(129)}`, wantError: "invalid reference format" },
  { input: "node:tag:more", wantError: "invalid reference format" },
  { input: "a..b", wantError: "invalid reference format" },
  { input: "a___b", wantError: "invalid reference format" },
  { input: "-a", wantError: "invalid reference format" },
  { input: "a-", wantError: "invalid reference format" },
  { input: "a//b", wantError: "invalid reference format" },
  { input: "a/", wantError: "invalid reference format" },
  { input: "/a", wantError: "invalid reference format" },
  { input: "a b", wantError: "invalid reference format" },
  { input: "example.com/", wantError: "invalid reference format" },
  { input: "-host.com/a", wantError: "invalid reference format" },
  { input: "node@sha256:abc", wantError: "invalid reference format" },
  { input: `node@sha256:${HEX}00`, wantError: "invalid checksum digest length" },
  { input: `node@sha256:${HEX.toUpperCase()}`, wantError: "invalid checksum digest format" },
  { input: `node@sha512:${HEX}${HEX}`, wantError: "unsupported digest algorithm" },
  { input: `node@${DGST}:tag`, wantError: "invalid reference format" },
  { input: `${"a".repeat(254)}/b`, wantError: "repository name must not be more than 255 characters" },
];

test("parseReference: table of good and bad references", () => {
  for (const c of cases) {
    if ("want" in c) {
      const r = parseReference(c.input);
      assert.equal(r.domain, c.want.domain, c.input);
      assert.equal(r.path, c.want.path, c.input);
      assert.equal(r.tag, c.want.tag, c.input);
      assert.equal(r.digest, c.want.digest, c.input);
      if (c.want.familiar !== undefined) assert.equal(familiarString(r), c.want.familiar, c.input);
      // A full reference string parses back to the same reference.
      assert.deepEqual(parseReference(referenceString(r)), r, c.input);
    } else {
      assert.throws(
        () => parseReference(c.input),
        (e: unknown) => {
          assert.equal(kindOf(e), "invalid-parameter", c.input);
          const msg = (e as Error).message;
          if (typeof c.wantError === "string") assert.equal(msg, c.wantError, c.input);
          else assert.match(msg, c.wantError, c.input);
          return true;
        },
        `expected an error for ${JSON.stringify(c.input)}`,
      );
    }
  }
  assert.ok(cases.length >= 40);
});

test("parseNormalizedNamed adds latest only when there is no tag or digest", () => {
  assert.equal(referenceString(parseNormalizedNamed("node")), "docker.io/library/node:latest");
  assert.equal(referenceString(normalizeReference("node")), "docker.io/library/node:latest");
  assert.equal(referenceString(parseNormalizedNamed("node:20")), "docker.io/library/node:20");
  assert.equal(referenceString(parseNormalizedNamed(`node@${DGST}`)), `docker.io/library/node@${DGST}`);
  assert.equal(familiarString(parseNormalizedNamed("user/app")), "user/app:latest");
  assert.equal(parseReference("node").tag, undefined);
});

test("names and strings", () => {
  const r = parseReference(`localhost:5000/a/b:1@${DGST}`);
  assert.equal(referenceName(r), "localhost:5000/a/b");
  assert.equal(familiarName(r), "localhost:5000/a/b");
  assert.equal(referenceString(r), `localhost:5000/a/b:1@${DGST}`);
  const n = parseReference("node");
  assert.equal(referenceName(n), "docker.io/library/node");
  assert.equal(familiarName(n), "node");
  assert.equal(referenceString(n), "docker.io/library/node");
});

test("withTag and withDigest keep the other part and validate", () => {
  const r = parseReference("user/app:1");
  const t = withTag(r, "2");
  assert.equal(familiarString(t), "user/app:2");
  assert.equal(r.tag, "1", "input is not modified");
  const d = withDigest(t, DGST as Digest);
  assert.equal(familiarString(d), `user/app:2@${DGST}`);
  assert.equal(familiarString(withTag(d, "3")), `user/app:3@${DGST}`);
  assert.throws(() => withTag(r, ".bad"), /invalid tag format/);
  assert.throws(() => withTag(r, ""), /invalid tag format/);
  assert.throws(() => withDigest(r, "sha256:xyz" as Digest), /invalid digest format/);
  assert.ok(Object.isFrozen(t));
});

test("looksLikeImageId and isFullImageId", () => {
  const table: [string, boolean, boolean][] = [
    [HEX, true, true],
    [DGST, true, true],
    ["7cc4b5aefd1d", true, false],
    ["abc", true, false],
    ["sha256:7cc4", false, false],
    ["node", false, false],
    [HEX.toUpperCase(), false, false],
    [`${HEX}0`, false, false],
    ["", false, false],
  ];
  for (const [s, looks, full] of table) {
    assert.equal(looksLikeImageId(s), looks, s);
    assert.equal(isFullImageId(s), full, s);
  }
});
