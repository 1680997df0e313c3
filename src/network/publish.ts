/**
 * Docker's `-p` / `--publish` syntax:
 *   [ip:][hostPort:]containerPort[/proto]      e.g. 8080:80, 127.0.0.1:8080:80/udp, 127.0.0.1::80, 80
 *   ranges: 8000-8010:80-90 (same length), 8000-8010:80 (pick one host port in the range)
 *   IPv6 host addresses in brackets: [::1]:8080:80
 * Messages follow docker's (go-connections nat.ParsePortSpec).
 */
import { isIP } from "node:net";
import { invalidParameter, notImplemented } from "../core/errors.ts";
import type { PortMapping } from "./types.ts";

function splitParts(raw: string): [string, string, string] {
  const parts = raw.split(":");
  const n = parts.length;
  const container = parts[n - 1] ?? "";
  if (n === 1) return ["", "", container];
  if (n === 2) return ["", parts[0] ?? "", container];
  return [parts.slice(0, n - 2).join(":"), parts[n - 2] ?? "", container];
}

/** "80" → [80,80]; "80-90" → [80,90]; undefined when malformed. Ports are 0..65535. */
function parseRange(s: string): [number, number] | undefined {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(s);
  if (m === null) return undefined;
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  if (start > 65535 || end > 65535 || end < start) return undefined;
  return [start, end];
}

export function parsePublish(spec: string): PortMapping[] {
  let [ip, hostPart, containerPart] = splitParts(spec);
  let proto = "tcp";
  const slash = containerPart.lastIndexOf("/");
  if (slash >= 0) {
    proto = containerPart.slice(slash + 1);
    containerPart = containerPart.slice(0, slash);
  }
  if (ip.startsWith("[")) {
    if (!ip.endsWith("]")) throw invalidParameter(`invalid IP address ${ip}: missing ']' in address`);
    ip = ip.slice(1, -1);
  }
  if (ip !== "" && isIP(ip) === 0) throw invalidParameter(`invalid IP address: ${ip}`);
  if (containerPart === "") throw invalidParameter(`no port specified: ${spec}<empty>`);
  const cr = parseRange(containerPart);
  if (cr === undefined || cr[0] === 0) throw invalidParameter(`invalid containerPort: ${containerPart}`);
  let hr: [number, number] | undefined;
  if (hostPart !== "") {
    hr = parseRange(hostPart);
    if (hr === undefined) throw invalidParameter(`invalid hostPort: ${hostPart}`);
  }
  const cLen = cr[1] - cr[0];
  if (hr !== undefined && hr[1] - hr[0] !== cLen && cLen !== 0) {
    throw invalidParameter(`invalid ranges specified for container and host Ports: ${containerPart} and ${hostPart}`);
  }
  proto = proto.toLowerCase();
  if (proto === "sctp") throw notImplemented("publishing sctp ports is not supported");
  if (proto !== "tcp" && proto !== "udp") throw invalidParameter(`invalid proto: ${proto}`);
  const protocol: "tcp" | "udp" = proto;
  const hostIp = ip === "0.0.0.0" ? "" : ip;

  const out: PortMapping[] = [];
  if (hr !== undefined && cLen === 0 && hr[1] !== hr[0]) {
    // One container port, a host range to choose from.
    out.push({ hostIp, hostPort: hr[0], hostPortEnd: hr[1], containerPort: cr[0], protocol });
    return out;
  }
  for (let i = 0; i <= cLen; i++) {
    out.push({ hostIp, hostPort: hr === undefined ? 0 : hr[0] + i, containerPort: cr[0] + i, protocol });
  }
  return out;
}

/** Docker's display form, e.g. "0.0.0.0:8080->80/tcp". */
export function formatPort(p: PortMapping): string {
  const ip = p.hostIp === "" ? "0.0.0.0" : p.hostIp.includes(":") ? `[${p.hostIp}]` : p.hostIp;
  return `${ip}:${p.hostPort}->${p.containerPort}/${p.protocol}`;
}
