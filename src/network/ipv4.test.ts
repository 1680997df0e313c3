import { test } from "node:test";
import assert from "node:assert/strict";
import { allocateSubnet, firstHost, formatCidr, overlaps, parseCidr, routesFromIpJson } from "./ipv4.ts";
import { kindOf } from "../core/errors.ts";

test("parseCidr normalises and validates", () => {
  assert.equal(formatCidr(parseCidr("10.88.3.4/16")), "10.88.0.0/16");
  assert.throws(() => parseCidr("10.88.3.4/16", { strict: true }), /invalid subnet 10.88.3.4\/16/);
  for (const bad of ["10.0.0.0", "10.0.0.256/8", "10.0.0.0/33", "x/8", "10.0.0.0/8/1"]) {
    assert.throws(() => parseCidr(bad), (e: unknown) => kindOf(e) === "invalid-parameter", bad);
  }
  assert.equal(firstHost(parseCidr("172.18.0.0/16")), "172.18.0.1");
});

test("overlaps", () => {
  assert.ok(overlaps(parseCidr("172.18.0.0/16"), parseCidr("172.18.5.0/24")));
  assert.ok(overlaps(parseCidr("172.18.5.0/24"), parseCidr("172.16.0.0/12")));
  assert.ok(!overlaps(parseCidr("172.18.0.0/16"), parseCidr("172.19.0.0/16")));
});

test("allocateSubnet skips other networks and host routes", () => {
  const taken = [parseCidr("172.18.0.0/16"), parseCidr("172.19.4.0/24")];
  assert.equal(formatCidr(allocateSubnet({ taken })), "172.20.0.0/16");
  // A default route (0.0.0.0/0) never blocks anything.
  assert.equal(formatCidr(allocateSubnet({ taken: [parseCidr("0.0.0.0/0")] })), "172.18.0.0/16");
  // A wide host route takes all of 172.16/12, so the 192.168 pools are next.
  assert.equal(formatCidr(allocateSubnet({ taken: [parseCidr("172.16.0.0/12")] })), "192.168.0.0/20");
  assert.throws(
    () => allocateSubnet({ taken: [parseCidr("172.16.0.0/12"), parseCidr("192.168.0.0/16")] }),
    (e: unknown) => kindOf(e) === "unavailable",
  );
});

test("routesFromIpJson", () => {
  const j = JSON.stringify([
    { dst: "default", gateway: "192.0.2.1" },
    { dst: "192.0.2.0/24", dev: "eth0" },
    { dst: "10.1.2.3", dev: "tun0" },
    { dst: "fe80::/64" },
  ]);
  assert.deepEqual(routesFromIpJson(j).map(formatCidr), ["192.0.2.0/24", "10.1.2.3/32"]);
  assert.deepEqual(routesFromIpJson("not json"), []);
  const own = JSON.stringify([{ dst: "10.88.0.0/16", dev: "berth0" }, { dst: "172.18.0.0/16", dev: "br-0123456789ab" }]);
  assert.deepEqual(routesFromIpJson(own, { excludeDevs: ["berth0"] }).map(formatCidr), ["172.18.0.0/16"], "routes on berth's own bridges are left out");
});
