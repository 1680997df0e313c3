import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { changeLine, changesOf } from "./container-diff.ts";

test("changesOf: new paths A, changed C, parents of additions C, unchanged directories and ignored paths left out", async () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-diff-"));
  try {
    const lower = join(dir, "lower");
    const upper = join(dir, "upper");
    for (const d of [lower, upper]) mkdirSync(join(d, "etc"), { recursive: true });
    mkdirSync(join(lower, "usr", "lib"), { recursive: true });
    mkdirSync(join(upper, "usr", "lib"), { recursive: true });
    writeFileSync(join(lower, "etc", "passwd"), "a");
    writeFileSync(join(upper, "etc", "passwd"), "b");
    writeFileSync(join(upper, "etc", "hosts"), "");
    writeFileSync(join(upper, "usr", "lib", "new.so"), "x");
    mkdirSync(join(upper, "srv", "app"), { recursive: true });
    // /etc and /usr/lib: same metadata as the lower ones
    for (const p of ["etc", "usr", join("usr", "lib")]) {
      utimesSync(join(upper, p), 1_700_000_000, 1_700_000_000);
      utimesSync(join(lower, p), 1_700_000_000, 1_700_000_000);
    }
    const changes = await changesOf(upper, [lower], { ignore: ["/etc/hosts"] });
    assert.deepEqual(changes.map(changeLine), ["C /etc/passwd", "A /srv", "A /srv/app", "C /usr/lib", "A /usr/lib/new.so"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
