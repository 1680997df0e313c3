import { test } from "node:test";
import assert from "node:assert/strict";
import { appendFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseLogRecord, parseLogTime, readLogs } from "./logs.ts";
import { normalizeSignal, runtimeMessage } from "./conmon-runtime.ts";

const T = (s: number) => `2026-11-27T21:20:${String(s).padStart(2, "0")}.068597587+00:00`;

test("parse k8s-file records", () => {
  assert.deepEqual(parseLogRecord(Buffer.from(`${T(1)} stdout F hello world`)), { stream: "stdout", timestamp: T(1), partial: false, text: Buffer.from("hello world") });
  assert.equal(parseLogRecord(Buffer.from(`${T(1)} stderr P part`))?.partial, true);
  assert.deepEqual(parseLogRecord(Buffer.from(`${T(1)} stdout F`))?.text, Buffer.alloc(0));
  assert.equal(parseLogRecord(Buffer.from("garbage")), undefined);
  assert.equal(parseLogRecord(Buffer.from(`${T(1)} stdin F x`)), undefined);
  assert.equal(parseLogTime(T(1)).toISOString(), "2026-11-27T21:20:01.068Z");
});

test("readLogs joins partials per stream, filters by time, tails, prefixes timestamps", async () => {
  const dir = await mkdtemp(join(tmpdir(), "berth-logs-"));
  try {
    const p = join(dir, "log");
    await writeFile(p, [
      `${T(1)} stdout P hel`,
      `${T(1)} stderr F err1`,
      `${T(2)} stdout F lo`,
      `${T(3)} stdout F second`,
      `${T(4)} stderr F err2`,
      `${T(5)} stdout P tail-partial`,
      "",
    ].join("\n"));
    const all = [];
    for await (const r of readLogs(p)) all.push([r.stream, r.line.toString(), r.complete]);
    assert.deepEqual(all, [["stderr", "err1", true], ["stdout", "hello", true], ["stdout", "second", true], ["stderr", "err2", true], ["stdout", "tail-partial", false]]);
    const tail = [];
    for await (const r of readLogs(p, { tail: 2 })) tail.push(r.line.toString());
    assert.deepEqual(tail, ["second", "err2", "tail-partial"]);
    const since = [];
    for await (const r of readLogs(p, { since: new Date("2026-11-27T21:20:03Z"), until: new Date("2026-11-27T21:20:04.5Z") })) since.push(r.line.toString());
    assert.deepEqual(since, ["second", "err2"]);
    const ts = [];
    for await (const r of readLogs(p, { tail: 1, timestamps: true })) ts.push(r.line.toString());
    assert.equal(ts[0], `${T(4).replace("+00:00", "Z")} err2`, "docker's timestamp form: UTC with Z");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("readLogs follow sees appended lines and ends on abort", async () => {
  const dir = await mkdtemp(join(tmpdir(), "berth-logs-"));
  try {
    const p = join(dir, "log");
    await writeFile(p, `${T(1)} stdout F first\n`);
    const ac = new AbortController();
    const seen: string[] = [];
    const done = (async () => {
      for await (const r of readLogs(p, { follow: true, signal: ac.signal })) {
        seen.push(r.line.toString());
        if (seen.length === 1) await appendFile(p, `${T(2)} stdout P a\n${T(2)} stdout F b\n`);
        if (seen.length === 2) ac.abort();
      }
    })();
    const timer = setTimeout(() => ac.abort(), 5000);
    await done;
    clearTimeout(timer);
    assert.deepEqual(seen, ["first", "ab"]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("signal names and runc messages", () => {
  assert.equal(normalizeSignal("term"), "SIGTERM");
  assert.equal(normalizeSignal("SIGKILL"), "SIGKILL");
  assert.equal(normalizeSignal(9), "9");
  assert.equal(normalizeSignal("15"), "15");
  assert.throws(() => normalizeSignal(0));
  assert.throws(() => normalizeSignal("no such!"));
  assert.equal(runtimeMessage('time="2026" level=error msg="container \\"x\\" does not exist"\n'), 'container "x" does not exist');
  assert.equal(runtimeMessage("plain failure\n"), "plain failure");
});
