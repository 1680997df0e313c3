#!/usr/bin/env node
/**
 * Composition root of the berth command: real streams, signals and exit code.
 * The only module that touches `process` directly.
 */
import module from "node:module";

module.enableCompileCache?.();

const { main } = await import("../cli/main.ts");
const controller = new AbortController();
let signals = 0;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    signals++;
    controller.abort(new Error(`received ${sig}`));
    if (signals > 1) process.exit(130);
  });
}
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
});
const code = await main(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: controller.signal,
});
process.exitCode = code;
// Exit once what was written has been flushed (pipes are asynchronous), even if
// a verb left a handle open (stdin, a timer).
process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
