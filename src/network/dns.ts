/**
 * /etc/hosts and /etc/resolv.conf for containers.
 *
 * Name resolution between containers is done with hosts files, not an embedded DNS
 * server: each container's hosts file lists the peers on its user-defined networks, and
 * the engine rewrites the files of `peersOf(...)` when a container joins or leaves. This
 * needs no extra long-running process (berth is daemonless; aardvark-dns would have to be
 * started, supervised and fed per network), at the cost of no live updates for processes
 * that cache the file, and no round-robin answers for shared aliases.
 */
import { readFile } from "node:fs/promises";

export interface HostsEntry {
  ip: string;
  names: readonly string[];
}

const LOCAL = [
  "127.0.0.1\tlocalhost",
  "::1\tlocalhost ip6-localhost ip6-loopback",
  "fe00::0\tip6-localnet",
  "ff00::0\tip6-mcastprefix",
  "ff02::1\tip6-allnodes",
  "ff02::2\tip6-allrouters",
];

/** Renders a hosts file: the local block, then `self`, then `extra` (--add-host), then peers. */
export function renderHosts(o: { self: readonly HostsEntry[]; extra?: readonly HostsEntry[]; peers?: readonly HostsEntry[] }): string {
  const lines = [...LOCAL];
  const seen = new Set<string>();
  for (const e of [...(o.extra ?? []), ...o.self, ...(o.peers ?? [])]) {
    const names = [...new Set(e.names.filter((n) => n !== ""))];
    const key = `${e.ip} ${names.join(" ")}`;
    if (names.length === 0 || seen.has(key)) continue;
    seen.add(key);
    lines.push(`${e.ip}\t${names.join(" ")}`);
  }
  return lines.join("\n") + "\n";
}

function isLoopback(ip: string): boolean {
  return ip.startsWith("127.") || ip === "::1";
}

export interface ParsedResolv {
  nameservers: string[];
  search: string[];
  options: string[];
}

export function parseResolv(text: string): ParsedResolv {
  const r: ParsedResolv = { nameservers: [], search: [], options: [] };
  for (const raw of text.split("\n")) {
    const line = raw.replace(/[#;].*$/, "").trim();
    const [k, ...v] = line.split(/\s+/);
    if (k === "nameserver" && v[0] !== undefined) r.nameservers.push(v[0]);
    else if (k === "search" || k === "domain") r.search = v;
    else if (k === "options") r.options.push(...v);
  }
  return r;
}

/** Docker's fallback when the host has no usable nameserver. */
export const DEFAULT_DNS = ["8.8.8.8", "8.8.4.4"];

/**
 * resolv.conf for a container on a bridge network (docker's rules): the host's
 * nameservers minus loopback ones (a loopback stub such as systemd-resolved's 127.0.0.53
 * is unreachable from the container, so its upstream list in
 * /run/systemd/resolve/resolv.conf is used when present); 8.8.8.8/8.8.4.4 when none remain.
 * --dns, --dns-search and --dns-option each replace the host's value of that kind.
 */
export async function buildResolvConf(o: {
  dns?: readonly string[];
  search?: readonly string[];
  options?: readonly string[];
  hostResolv?: string;
  upstreamResolv?: string;
}): Promise<string> {
  const read = (p: string): Promise<string> => readFile(p, "utf8").catch(() => "");
  let host = parseResolv(await read(o.hostResolv ?? "/etc/resolv.conf"));
  if (host.nameservers.length > 0 && host.nameservers.every(isLoopback)) {
    const up = parseResolv(await read(o.upstreamResolv ?? "/run/systemd/resolve/resolv.conf"));
    if (up.nameservers.some((n) => !isLoopback(n))) host = up;
  }
  let ns = o.dns !== undefined && o.dns.length > 0 ? [...o.dns] : host.nameservers.filter((n) => !isLoopback(n));
  if (ns.length === 0) ns = DEFAULT_DNS;
  const search = o.search !== undefined && o.search.length > 0 ? o.search.filter((s) => s !== ".") : host.search;
  const options = o.options !== undefined && o.options.length > 0 ? o.options : host.options;
  const lines = [...(search.length > 0 ? [`search ${search.join(" ")}`] : []), ...ns.map((n) => `nameserver ${n}`)];
  if (options.length > 0) lines.push(`options ${options.join(" ")}`);
  return lines.join("\n") + "\n";
}
