/**
 * Human-readable sizes and durations as docker prints and parses them
 * (github.com/docker/go-units: size.go, duration.go).
 */
import { invalidParameter } from "../core/index.ts";

const DECIMAL_ABBRS = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"] as const;
const BINARY_ABBRS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"] as const;

/** Go's fmt `%.{precision}g`: shortest form with `precision` significant digits, exponent when exp < -4 or exp >= precision. */
export function formatG(x: number, precision: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? "NaN" : x > 0 ? "+Inf" : "-Inf";
  if (x === 0) return "0";
  const p = Math.max(1, precision);
  const exp = x.toExponential(p - 1); // "d.ddde+X"
  const [mant = "0", e = "0"] = exp.split("e");
  const n = Number(e);
  const strip = (s: string) => (s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s);
  if (n < -4 || n >= p) {
    const sign = n < 0 ? "-" : "+";
    return `${strip(mant)}e${sign}${String(Math.abs(n)).padStart(2, "0")}`;
  }
  return strip(x.toFixed(Math.max(0, p - 1 - n)));
}

function sizeAndUnit(size: number, base: number, abbrs: readonly string[]): [number, string] {
  let i = 0;
  while (size >= base && i < abbrs.length - 1) {
    size /= base;
    i++;
  }
  return [size, abbrs[i] as string];
}

/**
 * Decimal size with `precision` significant digits (go-units HumanSizeWithPrecision):
 * 0 → "0B", 7380000 → "7.38MB", 1500 → "1.5kB". Docker's list commands use 3
 * (the default here); `docker system df` uses 4.
 */
export function humanSize(bytes: number, precision = 3): string {
  const [n, unit] = sizeAndUnit(bytes, 1000, DECIMAL_ABBRS);
  return formatG(n, precision) + unit;
}

/** Binary size with 4 significant digits (go-units BytesSize): 1258291 → "1.2MiB". */
export function bytesSize(bytes: number, precision = 4): string {
  const [n, unit] = sizeAndUnit(bytes, 1024, BINARY_ABBRS);
  return formatG(n, precision) + unit;
}

/**
 * go-units HumanDuration: "Less than a second", "1 second", "47 seconds",
 * "About a minute", "3 minutes", "About an hour", "2 hours" (rounded), "36 hours",
 * "2 days", "3 weeks", "5 months", "2 years". Negative durations count as 0.
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return "Less than a second";
  if (seconds === 1) return "1 second";
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return "About a minute";
  if (minutes < 60) return `${minutes} minutes`;
  const hours = goRound(ms / 3_600_000);
  if (hours === 1) return "About an hour";
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(ms / 3_600_000) / 24 / 365)} years`;
}

/** Go's math.Round: half away from zero. */
function goRound(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/** Docker's "CreatedSince"/"2 hours ago": humanDuration(now - date) + " ago". */
export function timeAgo(date: Date | number, now: Date | number = Date.now()): string {
  const t = typeof date === "number" ? date : date.getTime();
  const n = typeof now === "number" ? now : now.getTime();
  return `${humanDuration(n - t)} ago`;
}

const BINARY_MULT: Readonly<Record<string, number>> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };
const DECIMAL_MULT: Readonly<Record<string, number>> = { k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 };

function parseSize(s: string, mult: Readonly<Record<string, number>>): number {
  // go-units parseSize: a number, an optional single space, an optional suffix
  // (b, or k/m/g/t/p optionally followed by "b" or "ib"), case-insensitive.
  let sep = -1;
  for (let i = s.length - 1; i >= 0; i--) {
    if ("0123456789. ".includes(s[i] as string)) {
      sep = i;
      break;
    }
  }
  if (sep < 0) throw invalidParameter(`invalid size: '${s}'`);
  const num = s[sep] === " " ? s.slice(0, sep) : s.slice(0, sep + 1);
  let sfx = s.slice(sep + 1);
  if (!/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(num)) {
    throw invalidParameter(`strconv.ParseFloat: parsing ${JSON.stringify(num)}: invalid syntax`);
  }
  let size = Number(num);
  if (size < 0) throw invalidParameter(`invalid size: '${s}'`);
  if (sfx === "") return Math.trunc(size);
  const badSuffix = () => invalidParameter(`invalid suffix: '${sfx}'`);
  if (sfx.length > 3) throw badSuffix();
  sfx = sfx.toLowerCase();
  if (sfx[0] === "b") {
    if (sfx.length > 1) throw badSuffix();
    return Math.trunc(size);
  }
  const m = mult[sfx[0] as string];
  if (m === undefined) throw badSuffix();
  size *= m;
  if ((sfx.length === 2 && sfx[1] !== "b") || (sfx.length === 3 && sfx.slice(1) !== "ib")) throw badSuffix();
  return Math.trunc(size);
}

/**
 * go-units RAMInBytes, used for --memory, --memory-swap, --shm-size:
 * "512m" → 536870912; units b, k, m, g, t, p are binary and case-insensitive,
 * with an optional "b"/"ib" ("1GiB", "1gb", "1.5 k").
 * @throws invalid-parameter "invalid size: '…'", "invalid suffix: '…'"
 */
export function parseBytes(s: string): number {
  return parseSize(s, BINARY_MULT);
}

/** go-units FromHumanSize: as parseBytes with decimal units ("1kB" → 1000). @throws invalid-parameter */
export function parseHumanSize(s: string): number {
  return parseSize(s, DECIMAL_MULT);
}
