/**
 * IPv4 subnet arithmetic and free-subnet allocation (pure; host routes are passed in).
 */
import { invalidParameter, unavailable } from "../core/errors.ts";

export interface Cidr {
  /** Network address as an unsigned 32-bit number. */
  readonly base: number;
  readonly prefixLen: number;
}

export function parseIPv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (m === null) return undefined;
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255) return undefined;
    v = v * 256 + o;
  }
  return v;
}

export function formatIPv4(v: number): string {
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join(".");
}

function maskOf(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
}

/** Parses "a.b.c.d/n"; with `strict`, host bits must be zero (docker: "invalid subnet"). */
export function parseCidr(s: string, o: { strict?: boolean } = {}): Cidr {
  const [ip, len, extra] = s.split("/");
  const v = ip === undefined ? undefined : parseIPv4(ip);
  const n = len === undefined || !/^\d{1,2}$/.test(len) ? NaN : Number(len);
  if (v === undefined || extra !== undefined || !(n >= 0 && n <= 32)) throw invalidParameter(`invalid CIDR address: ${s}`);
  const base = (v & maskOf(n)) >>> 0;
  if (o.strict === true && base !== v) throw invalidParameter(`invalid subnet ${s}: it should be ${formatCidr({ base, prefixLen: n })}`);
  return { base, prefixLen: n };
}

export function formatCidr(c: Cidr): string {
  return `${formatIPv4(c.base)}/${c.prefixLen}`;
}

export function cidrSize(c: Cidr): number {
  return 2 ** (32 - c.prefixLen);
}

export function contains(c: Cidr, ip: number): boolean {
  return ((ip & maskOf(c.prefixLen)) >>> 0) === c.base;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const p = Math.min(a.prefixLen, b.prefixLen);
  const m = maskOf(p);
  return ((a.base & m) >>> 0) === ((b.base & m) >>> 0);
}

/** The first usable host address (docker's default gateway), e.g. 10.88.0.1 for 10.88.0.0/16. */
export function firstHost(c: Cidr): string {
  if (c.prefixLen >= 31) throw invalidParameter(`subnet ${formatCidr(c)} is too small for a bridge network`);
  return formatIPv4(c.base + 1);
}

/**
 * The pool user networks are carved from, in order (docker's default address pools):
 * 172.18.0.0/16 .. 172.31.0.0/16 (172.17/16 is left to a dockerd's docker0 on the
 * same host), then 192.168.0.0/20 .. 192.168.240.0/20.
 */
export function* defaultPool(): Generator<Cidr> {
  for (let b = 18; b <= 31; b++) yield { base: (((172 << 24) | (b << 16)) >>> 0), prefixLen: 16 };
  for (let c = 0; c < 256; c += 16) yield { base: (((192 << 24) | (168 << 16) | (c << 8)) >>> 0), prefixLen: 20 };
}

/**
 * The first candidate that overlaps nothing in `taken` (other networks' subnets and the
 * host's routes, except the default route).
 * @throws unavailable when the pool is exhausted (docker: "all predefined address pools have been fully subnetted").
 */
export function allocateSubnet(o: { taken: readonly Cidr[]; candidates?: Iterable<Cidr> }): Cidr {
  for (const c of o.candidates ?? defaultPool()) {
    if (!o.taken.some((t) => t.prefixLen > 0 && overlaps(t, c))) return c;
  }
  throw unavailable("could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network");
}

/** Destinations of `ip -j route` output (IPv4, any table), skipping "default". */
export function routesFromIpJson(json: string, o: { excludeDevs?: readonly string[] } = {}): Cidr[] {
  const out: Cidr[] = [];
  let rows: unknown;
  try {
    rows = JSON.parse(json);
  } catch {
    return out;
  }
  if (!Array.isArray(rows)) return out;
  for (const r of rows) {
    const dst = (r as { dst?: unknown }).dst;
    if (typeof dst !== "string" || dst === "default") continue;
    const dev = (r as { dev?: unknown }).dev;
    if (typeof dev === "string" && o.excludeDevs?.includes(dev) === true) continue;
    try {
      out.push(parseCidr(dst.includes("/") ? dst : `${dst}/32`));
    } catch {
      /* not IPv4 */
    }
  }
  return out;
}
