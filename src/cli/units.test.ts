import { test } from "node:test";
import assert from "node:assert/strict";
import { kindOf } from "../core/index.ts";
import { bytesSize, formatG, humanDuration, humanSize, parseBytes, parseHumanSize, timeAgo } from "./units.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;
const PiB = 1024 * TiB;

test("formatG behaves like Go's %.Ng", () => {
  const table: [number, number, string][] = [
    [0, 3, "0"],
    [1, 3, "1"],
    [7.38, 3, "7.38"],
    [1.2345, 3, "1.23"],
    [999.95, 3, "1e+03"],
    [123.4, 3, "123"],
    [1.5, 4, "1.5"],
    [1048.576, 4, "1049"],
    [10000, 1, "1e+04"],
    [0.0001234, 3, "0.000123"],
    [0.00001234, 3, "1.23e-05"],
  ];
  for (const [x, p, want] of table) assert.equal(formatG(x, p), want, `${x} %.${p}g`);
});

test("humanSize: decimal units, 3 significant digits by default (docker images)", () => {
  const table: [number, string][] = [
    [0, "0B"],
    [999, "999B"],
    [1000, "1kB"],
    [1500, "1.5kB"],
    [7_380_000, "7.38MB"],
    [1_240_000_000, "1.24GB"],
    [1_234_567_890, "1.23GB"],
    [999_950, "1e+03kB"],
    [5_372_000_000_000, "5.37TB"],
  ];
  for (const [n, want] of table) assert.equal(humanSize(n), want, String(n));
  // go-units HumanSize (precision 4)
  const four: [number, string][] = [
    [1000, "1kB"],
    [1024, "1.024kB"],
    [1_000_000, "1MB"],
    [1_048_576, "1.049MB"],
    [3.42e9, "3.42GB"],
    [5.372e12, "5.372TB"],
    [2.22e15, "2.22PB"],
    [1e13 * 1e15, "1e+04YB"],
  ];
  for (const [n, want] of four) assert.equal(humanSize(n, 4), want, String(n));
});

test("bytesSize: binary units, 4 significant digits", () => {
  const table: [number, string][] = [
    [0, "0B"],
    [1024, "1KiB"],
    [MiB, "1MiB"],
    [2 * MiB, "2MiB"],
    [1.2 * MiB, "1.2MiB"],
    [3.42 * GiB, "3.42GiB"],
    [5.372 * TiB, "5.372TiB"],
    [2.22 * PiB, "2.22PiB"],
    [KiB ** 5 * PiB, "1.049e+06YiB"],
  ];
  for (const [n, want] of table) assert.equal(bytesSize(n), want, String(n));
});

test("humanDuration follows go-units HumanDuration", () => {
  const s = 1000;
  const min = 60 * s;
  const h = 60 * min;
  const day = 24 * h;
  const week = 7 * day;
  const month = 30 * day;
  const year = 365 * day;
  const table: [number, string][] = [
    [-5 * s, "Less than a second"],
    [450, "Less than a second"],
    [s, "1 second"],
    [45 * s, "45 seconds"],
    [59 * s, "59 seconds"],
    [60 * s, "About a minute"],
    [3 * min, "3 minutes"],
    [35 * min + 40 * s, "35 minutes"],
    [59 * min, "59 minutes"],
    [h, "About an hour"],
    [h + 29 * min, "About an hour"],
    [h + 31 * min, "2 hours"],
    [3 * h + 29 * min, "3 hours"],
    [3 * h + 31 * min, "4 hours"],
    [24 * h, "24 hours"],
    [day + 12 * h, "36 hours"],
    [2 * day, "2 days"],
    [13 * day + 5 * h, "13 days"],
    [2 * week, "2 weeks"],
    [2 * week + 4 * day, "2 weeks"],
    [month, "4 weeks"],
    [month + 2 * week, "6 weeks"],
    [2 * month, "2 months"],
    [5 * month + 2 * week, "5 months"],
    [24 * month, "24 months"],
    [24 * month + 2 * week, "2 years"],
    [3 * year + 2 * month, "3 years"],
  ];
  for (const [ms, want] of table) assert.equal(humanDuration(ms), want, String(ms));
});

test("timeAgo appends ' ago' and accepts dates or epoch milliseconds", () => {
  const now = new Date("2024-05-01T12:00:00Z");
  assert.equal(timeAgo(new Date("2024-05-01T10:00:00Z"), now), "2 hours ago");
  assert.equal(timeAgo(now.getTime() - 3 * 7 * 86_400_000, now.getTime()), "3 weeks ago");
  assert.equal(timeAgo(now, now), "Less than a second ago");
});

test("parseBytes follows go-units RAMInBytes", () => {
  const good: [string, number][] = [
    ["32", 32],
    ["32b", 32],
    ["32B", 32],
    ["32k", 32 * KiB],
    ["32K", 32 * KiB],
    ["32kb", 32 * KiB],
    ["32Kib", 32 * KiB],
    ["32KIB", 32 * KiB],
    ["512m", 512 * MiB],
    ["32Mb", 32 * MiB],
    ["1g", GiB],
    ["1GiB", GiB],
    ["32Tb", 32 * TiB],
    ["32P", 32 * PiB],
    ["32.3", 32],
    ["32.3 mb", Math.trunc(32.3 * MiB)],
    ["0.3MB", Math.trunc(0.3 * MiB)],
    ["1.5 k", 1536],
  ];
  for (const [s, want] of good) assert.equal(parseBytes(s), want, s);
  const bad: [string, string][] = [
    ["", "invalid size: ''"],
    ["hello", "invalid size: 'hello'"],
    ["-32", "invalid size: '-32'"],
    [" 32 ", 'strconv.ParseFloat: parsing " 32": invalid syntax'],
    ["32m b", 'strconv.ParseFloat: parsing "32m": invalid syntax'],
    ["32bm", "invalid suffix: 'bm'"],
    ["32x", "invalid suffix: 'x'"],
    ["32mx", "invalid suffix: 'mx'"],
    ["32kibb", "invalid suffix: 'kibb'"],
  ];
  for (const [s, want] of bad) {
    assert.throws(
      () => parseBytes(s),
      (e: unknown) => kindOf(e) === "invalid-parameter" && (e as Error).message === want,
      JSON.stringify(s),
    );
  }
});

test("parseHumanSize uses decimal units", () => {
  assert.equal(parseHumanSize("32k"), 32_000);
  assert.equal(parseHumanSize("32.5 kB"), 32_500);
  assert.equal(parseHumanSize("0.3 K"), 300);
  assert.equal(parseHumanSize("2GB"), 2e9);
});
