import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mountsBelow } from "./tree.ts";

test("mountsBelow lists mounts under a directory, deepest first, decoding octal escapes", (t) => {
  const d = mkdtempSync(join(tmpdir(), "berth-tree-"));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  const info = join(d, "mountinfo");
  writeFileSync(
    info,
    [
      "22 1 8:1 / / rw - ext4 /dev/sda1 rw",
      "90 22 0:5 / /var/tmp/x/rootfs/proc rw - proc proc rw",
      "91 90 0:6 / /var/tmp/x/rootfs/proc/sys/fs/binfmt_misc rw - binfmt_misc b rw",
      "92 22 0:7 / /var/tmp/x2/rootfs/sys rw - sysfs sysfs rw",
      "93 22 0:8 / /var/tmp/x/with\\040space rw - tmpfs t rw",
      "",
    ].join("\n"),
  );
  assert.deepEqual(mountsBelow("/var/tmp/x", info), ["/var/tmp/x/rootfs/proc/sys/fs/binfmt_misc", "/var/tmp/x/rootfs/proc", "/var/tmp/x/with space"]);
  assert.deepEqual(mountsBelow("/elsewhere", info), []);
  assert.deepEqual(mountsBelow("/var/tmp/x", join(d, "missing")), []);
});
