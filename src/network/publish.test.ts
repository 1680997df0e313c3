import { test } from "node:test";
import assert from "node:assert/strict";
import { formatPort, parsePublish } from "./publish.ts";
import { kindOf } from "../core/errors.ts";

test("parsePublish: the docker forms", () => {
  assert.deepEqual(parsePublish("80"), [{ hostIp: "", hostPort: 0, containerPort: 80, protocol: "tcp" }]);
  assert.deepEqual(parsePublish("8080:80"), [{ hostIp: "", hostPort: 8080, containerPort: 80, protocol: "tcp" }]);
  assert.deepEqual(parsePublish("127.0.0.1:8080:80/udp"), [
    { hostIp: "127.0.0.1", hostPort: 8080, containerPort: 80, protocol: "udp" },
  ]);
  assert.deepEqual(parsePublish("127.0.0.1::80"), [{ hostIp: "127.0.0.1", hostPort: 0, containerPort: 80, protocol: "tcp" }]);
  assert.deepEqual(parsePublish("0.0.0.0:80:80/TCP"), [{ hostIp: "", hostPort: 80, containerPort: 80, protocol: "tcp" }]);
  assert.deepEqual(parsePublish("[::1]:8080:80"), [{ hostIp: "::1", hostPort: 8080, containerPort: 80, protocol: "tcp" }]);
  assert.deepEqual(parsePublish("::1:8080:80"), [{ hostIp: "::1", hostPort: 8080, containerPort: 80, protocol: "tcp" }]);
});

test("parsePublish: ranges", () => {
  const r = parsePublish("8000-8002:80-82");
  assert.deepEqual(
    r.map((p) => [p.hostPort, p.containerPort]),
    [[8000, 80], [8001, 81], [8002, 82]],
  );
  assert.deepEqual(parsePublish("80-81").map((p) => [p.hostPort, p.containerPort]), [[0, 80], [0, 81]]);
  assert.deepEqual(parsePublish("8000-8010:80"), [
    { hostIp: "", hostPort: 8000, hostPortEnd: 8010, containerPort: 80, protocol: "tcp" },
  ]);
});

test("parsePublish: errors with docker's wording", () => {
  const cases: [string, string][] = [
    ["abc", "invalid containerPort: abc"],
    ["8080:abc", "invalid containerPort: abc"],
    ["x:80", "invalid hostPort: x"],
    ["99999:80", "invalid hostPort: 99999"],
    ["1.2.3:80:80", "invalid IP address: 1.2.3"],
    ["80/icmp", "invalid proto: icmp"],
    ["8000-8001:80-82", "invalid ranges specified for container and host Ports: 80-82 and 8000-8001"],
    ["8080:", "no port specified: 8080:<empty>"],
    ["0", "invalid containerPort: 0"],
  ];
  for (const [spec, msg] of cases) {
    assert.throws(() => parsePublish(spec), (e: unknown) => {
      assert.equal((e as Error).message, msg, spec);
      assert.equal(kindOf(e), "invalid-parameter");
      return true;
    });
  }
  assert.equal(kindOf(captured(() => parsePublish("80/sctp"))), "not-implemented");
});

test("formatPort", () => {
  assert.equal(formatPort({ hostIp: "", hostPort: 8080, containerPort: 80, protocol: "tcp" }), "0.0.0.0:8080->80/tcp");
  assert.equal(formatPort({ hostIp: "::1", hostPort: 1, containerPort: 2, protocol: "udp" }), "[::1]:1->2/udp");
});

function captured(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  assert.fail("expected a throw");
}
