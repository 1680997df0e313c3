/**
 * A busybox root filesystem made from the host's busybox-static (Debian), the
 * offline stand-in for the `busybox` image in tests.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { findExecutable } from "./requires.ts";

export function makeBusyboxRootfs(dir: string): void {
  const busybox = findExecutable("busybox");
  if (busybox === undefined) throw new Error("busybox-static is not installed");
  for (const d of ["bin", "etc", "tmp", "root", "proc", "sys", "dev", "home", "var"]) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync(busybox, join(dir, "bin", "busybox"));
  const applets = execFileSync(busybox, ["--list"], { encoding: "utf8" }).split("\n").filter((a) => a !== "" && a !== "busybox");
  for (const a of applets) symlinkSync("busybox", join(dir, "bin", a));
  writeFileSync(join(dir, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\nwww:x:33:33:www:/var/www:/bin/sh\n");
  writeFileSync(join(dir, "etc", "group"), "root:x:0:\nnogroup:x:65534:\nwww:x:33:\nstaff:x:50:www\n");
}

/** The same root filesystem as a tar (GNU tar, as a user would make one for `import`). */
export function makeBusyboxTar(dir: string, tarPath: string): void {
  const rootfs = join(dir, "rootfs");
  mkdirSync(rootfs, { recursive: true });
  makeBusyboxRootfs(rootfs);
  execFileSync("tar", ["-C", rootfs, "--numeric-owner", "-cf", tarPath, "."]);
}
