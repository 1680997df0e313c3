// Child process for concurrent-processes.test.ts: writes one deterministic
// blob (the same in every child) in small chunks, then commits it.
import { LocalContentStore } from "../../../src/content/local-content-store.ts";
import type { Digest } from "../../../src/core/index.ts";

const [root, expected] = process.argv.slice(2);
if (root === undefined || expected === undefined) throw new Error("usage: same-blob-writer.fixture.ts <root> <digest>");
const store = await LocalContentStore.open(root);
const w = await store.writer();
for (let i = 0; i < 64; i++) {
  await w.write(Buffer.alloc(16 * 1024, i));
  await new Promise((r) => setImmediate(r));
}
const info = await w.commit({ digest: expected as Digest, size: 64 * 16 * 1024 });
process.stdout.write(JSON.stringify(info));
