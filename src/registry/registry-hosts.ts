/**
 * Which endpoints serve a registry host, over which scheme, with which TLS
 * material (Docker's registry service: mirrors, insecure registries,
 * /etc/docker/certs.d).
 *
 * Rules, in order:
 * - `docker.io` (also `index.docker.io`, `registry-1.docker.io`) is served by
 *   `https://registry-1.docker.io`. Pulls try each configured mirror first.
 * - A host with a `<certsDir>/<host[:port]>/` directory is spoken to over
 *   HTTPS with the `*.crt` files there as extra CAs and `client.cert` /
 *   `client.key` as client certificate.
 * - Otherwise a host in `insecure` (or localhost, 127.0.0.0/8, ::1) is spoken
 *   to over plain HTTP; any other host over HTTPS with the system CAs.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isIP } from "node:net";

export interface RegistryConfig {
  /** Registry host → mirror base URLs, e.g. { "docker.io": ["http://127.0.0.1:5000"] }. */
  readonly mirrors: Readonly<Record<string, readonly string[]>>;
  /** host[:port] (or CIDR "10.0.0.0/8") allowed over HTTP; localhost, 127.0.0.0/8 and ::1 always are. */
  readonly insecure: readonly string[];
  /** Default /etc/docker/certs.d: <host[:port]>/ca.crt, client.cert, client.key. */
  readonly certsDir?: string;
  /** Default ~/.docker/config.json (or $DOCKER_CONFIG/config.json). */
  readonly dockerConfigPath?: string;
}

export const DOCKER_HUB = "docker.io";
export const DOCKER_HUB_API = "registry-1.docker.io";
/** The key Docker stores Hub credentials under in config.json. */
export const DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/";

/** Canonical registry host: Hub aliases collapse to "docker.io". */
export function canonicalHost(host: string): string {
  const h = host.toLowerCase();
  return h === "index.docker.io" || h === "registry-1.docker.io" ? DOCKER_HUB : h;
}

export interface TlsMaterial {
  readonly ca?: string[];
  readonly cert?: string;
  readonly key?: string;
}

/** One place a repository can be reached. */
export interface Endpoint {
  /** "https://registry-1.docker.io", "http://127.0.0.1:5000" (no trailing slash). */
  readonly base: string;
  /** host[:port] of `base`, the key for credentials, tokens and connections. */
  readonly host: string;
  readonly mirror: boolean;
  readonly tls?: TlsMaterial;
}

function splitHostPort(hostPort: string): { host: string; port?: string } {
  if (hostPort.startsWith("[")) {
    const end = hostPort.indexOf("]");
    const host = hostPort.slice(1, end);
    const rest = hostPort.slice(end + 1);
    return rest.startsWith(":") ? { host, port: rest.slice(1) } : { host };
  }
  const i = hostPort.lastIndexOf(":");
  if (i > 0 && hostPort.indexOf(":") === i) return { host: hostPort.slice(0, i), port: hostPort.slice(i + 1) };
  return { host: hostPort };
}

function ipv4ToInt(ip: string): number {
  return ip.split(".").reduce((a, p) => (a << 8) + Number(p), 0) >>> 0;
}

function inCidr(ip: string, cidr: string): boolean {
  const [net, bitsText] = cidr.split("/");
  if (net === undefined || bitsText === undefined || isIP(net) !== 4 || isIP(ip) !== 4) return false;
  const bits = Number(bitsText);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (ipv4ToInt(ip) & mask) === (ipv4ToInt(net) & mask);
}

/** True when `hostPort` may be spoken to over plain HTTP. */
export function isInsecure(hostPort: string, config: Pick<RegistryConfig, "insecure">): boolean {
  const { host } = splitHostPort(hostPort.toLowerCase());
  if (host === "localhost" || host === "::1" || (isIP(host) === 4 && inCidr(host, "127.0.0.0/8"))) return true;
  for (const entry of config.insecure) {
    const e = entry.toLowerCase();
    if (e === hostPort.toLowerCase() || e === host) return true;
    if (e.includes("/") && inCidr(host, e)) return true;
  }
  return false;
}

/** Reads `<certsDir>/<hostPort>/`; undefined when there is no such directory. */
export function loadTlsMaterial(certsDir: string, hostPort: string): TlsMaterial | undefined {
  const dir = join(certsDir, hostPort);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  const ca = names.filter((n) => n.endsWith(".crt")).sort().map((n) => readFileSync(join(dir, n), "utf8"));
  const certName = names.find((n) => n.endsWith(".cert"));
  const keyName = certName ? certName.replace(/\.cert$/, ".key") : undefined;
  const out: { ca?: string[]; cert?: string; key?: string } = {};
  if (ca.length > 0) out.ca = ca;
  if (certName && keyName && names.includes(keyName)) {
    out.cert = readFileSync(join(dir, certName), "utf8");
    out.key = readFileSync(join(dir, keyName), "utf8");
  }
  return out;
}

function endpointFor(hostPort: string, config: RegistryConfig, mirror: boolean): Endpoint {
  const tls = loadTlsMaterial(config.certsDir ?? "/etc/docker/certs.d", hostPort);
  if (tls !== undefined) return { base: `https://${hostPort}`, host: hostPort, mirror, tls };
  const scheme = isInsecure(hostPort, config) ? "http" : "https";
  return { base: `${scheme}://${hostPort}`, host: hostPort, mirror };
}

/**
 * Endpoints to try for a registry host, in order. Mirrors only when
 * `o.mirrors` (pulls); pushes and logins go to the registry itself.
 */
export function endpointsFor(registryHost: string, config: RegistryConfig, o: { mirrors: boolean }): Endpoint[] {
  const canonical = canonicalHost(registryHost);
  const out: Endpoint[] = [];
  if (o.mirrors) {
    for (const m of config.mirrors[canonical] ?? []) {
      const u = new URL(m.includes("://") ? m : `https://${m}`);
      const base = `${u.protocol}//${u.host}`;
      const tls = loadTlsMaterial(config.certsDir ?? "/etc/docker/certs.d", u.host);
      out.push({ base, host: u.host, mirror: true, ...(tls && u.protocol === "https:" ? { tls } : {}) });
    }
  }
  out.push(endpointFor(canonical === DOCKER_HUB ? DOCKER_HUB_API : canonical, config, false));
  return out;
}
