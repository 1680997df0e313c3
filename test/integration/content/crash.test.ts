/**
 * A writer killed mid-write leaves no blob under any digest, and the store
 * opens again afterwards (the stray temp file is swept once it is stale).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readdir, rm, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { LocalContentStore } from "../../../src/content/local-content-store.ts";

const fixture = join(import.meta.dirname, "slow-writer.fixture.ts");

test("SIGKILL mid-write leaves no blob and the next open works", { skip: process.platform !== "linux" && "needs Linux" }, async () => {
  const dir = await mkdtemp(join(tmpdir(), "berth-content-crash-"));
  const child = spawn(process.execPath, [fixture, dir], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("child never started writing")), 20_000);
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("writing")) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on("exit", (code) => reject(new Error(`child exited early with ${code}`)));
    });
    const exited = new Promise((r) => child.on("exit", (_code, signal) => r(signal)));
    child.kill("SIGKILL");
    assert.equal(await exited, "SIGKILL");

    const temps = await readdir(join(dir, "tmp"));
    assert.equal(temps.length, 1, "the killed writer's temp file is still there");
    const store = await LocalContentStore.open(dir);
    assert.deepEqual(await readdir(join(dir, "tmp")), temps, "a young temp file is not swept (it could be live)");
    const blobs: string[] = [];
    for await (const b of store.walk()) blobs.push(b.digest);
    assert.deepEqual(blobs, [], "no blob is visible");
    assert.deepEqual(await readdir(join(dir, "blobs", "sha256")), []);

    // The store is usable, and once the temp file is stale a new open sweeps it.
    const info = await store.put(Buffer.from("after the crash"));
    assert.equal(await store.has(info.digest), true);
    const old = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(join(dir, "tmp", temps[0] as string), old, old);
    await LocalContentStore.open(dir);
    assert.deepEqual(await readdir(join(dir, "tmp")), []);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
  }
});
