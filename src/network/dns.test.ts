import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildResolvConf, renderHosts } from "./dns.ts";

test("renderHosts: local block, self, extra hosts, peers; no duplicates", () => {
  const h = renderHosts({
    self: [{ ip: "172.18.0.2", names: ["web", "abc123"] }],
    extra: [{ ip: "10.0.0.9", names: ["db.example"] }],
    peers: [
      { ip: "172.18.0.3", names: ["api", "api-alias"] },
      { ip: "172.18.0.3", names: ["api", "api-alias"] },
    ],
  });
  const lines = h.trimEnd().split("\n");
  assert.equal(lines[0], "127.0.0.1\tlocalhost");
  assert.ok(lines.includes("172.18.0.2\tweb abc123"));
  assert.ok(lines.includes("10.0.0.9\tdb.example"));
  assert.equal(lines.filter((l) => l === "172.18.0.3\tapi api-alias").length, 1);
});

test("buildResolvConf: loopback stub → upstream; overrides; fallback", async () => {
  const dir = await mkdtemp(join(tmpdir(), "berth-dns-"));
  try {
    const stub = join(dir, "stub");
    const up = join(dir, "up");
    await writeFile(stub, "# generated\nnameserver 127.0.0.53\nsearch corp.example\noptions edns0 trust-ad\n");
    await writeFile(up, "nameserver 192.0.2.53\nnameserver 127.0.0.1\nsearch corp.example\n");
    const r = await buildResolvConf({ hostResolv: stub, upstreamResolv: up });
    assert.equal(r, "search corp.example\nnameserver 192.0.2.53\n");

    const o = await buildResolvConf({ hostResolv: stub, upstreamResolv: up, dns: ["1.1.1.1"], search: ["a.b"], options: ["ndots:2"] });
    assert.equal(o, "search a.b\nnameserver 1.1.1.1\noptions ndots:2\n");

    // Only loopback, no upstream file → docker's defaults.
    const none = await buildResolvConf({ hostResolv: stub, upstreamResolv: join(dir, "absent") });
    assert.match(none, /nameserver 8\.8\.8\.8\nnameserver 8\.8\.4\.4/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
