import { test } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { ProgressWriter, formatProgress } from "./progress-writer.ts";

function sink(): { out: PassThrough; text: () => string } {
  const out = new PassThrough();
  const parts: Buffer[] = [];
  out.on("data", (c: Buffer) => parts.push(c));
  return { out, text: () => Buffer.concat(parts).toString() };
}

test("formatProgress follows docker's JSONProgress (bar above 110 columns, go-units sizes)", () => {
  assert.equal(formatProgress(undefined, 10), "");
  assert.equal(formatProgress(12_300_000, 45_600_000, 80), "  12.3MB/45.6MB");
  const wide = formatProgress(22_800_000, 45_600_000, 120);
  assert.equal(wide, `[${"=".repeat(25)}>${" ".repeat(25)}]   22.8MB/45.6MB`);
  assert.equal(formatProgress(45_600_000, 45_600_000), `[${"=".repeat(50)}>] ${"  45.6MB"}/45.6MB`);
  assert.equal(formatProgress(2_000, 0), "     2kB");
});

test("plain mode writes only state changes, and nothing that carries byte counts", () => {
  const s = sink();
  const w = new ProgressWriter(s.out, { tty: false });
  w.update("a1", "Pulling fs layer");
  w.update("a1", "Downloading", 10, 100);
  w.update("a1", "Downloading", 50, 100);
  w.update("b2", "Already exists");
  w.update("a1", "Download complete");
  w.line("Digest: sha256:x");
  w.done();
  w.update("a1", "ignored");
  assert.equal(s.text(), "a1: Pulling fs layer\nb2: Already exists\na1: Download complete\nDigest: sha256:x\n");
});

test("terminal mode rewrites an item's line in place", () => {
  const s = sink();
  const w = new ProgressWriter(s.out, { tty: true, columns: 200 });
  w.update("a1", "Pulling fs layer");
  w.update("b2", "Pulling fs layer");
  w.update("a1", "Downloading", 5, 10);
  w.update("b2", "Done");
  const t = s.text();
  // a1 sits two lines above the cursor, b2 one.
  assert.ok(t.includes(`\x1b[2A\x1b[2K\ra1: Downloading [${"=".repeat(25)}>${" ".repeat(25)}]       5B/10B\n\x1b[1B\r`), JSON.stringify(t));
  assert.ok(t.endsWith("\x1b[1A\x1b[2K\rb2: Done\n\r"), JSON.stringify(t));
});

test("terminal lines are cut to the terminal width", () => {
  const s = sink();
  const w = new ProgressWriter(s.out, { tty: true, columns: 20 });
  w.update("abcdef", "a very long status that overflows");
  assert.equal(s.text(), "\x1b[2K\rabcdef: a very long\n");
});
