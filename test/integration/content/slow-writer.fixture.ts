// Child process for crash.test.ts: writes a large blob slowly and reports
// progress on stdout, so the parent can SIGKILL it mid-write.
import { LocalContentStore } from "../../../src/content/local-content-store.ts";

const root = process.argv[2];
if (root === undefined) throw new Error("usage: slow-writer.fixture.ts <root>");
const store = await LocalContentStore.open(root);
const w = await store.writer();
const chunk = Buffer.alloc(64 * 1024, 0x61);
for (let i = 0; i < 1_000_000; i++) {
  await w.write(chunk);
  if (i === 4) process.stdout.write("writing\n");
  await new Promise((r) => setTimeout(r, 1));
}
await w.commit();
