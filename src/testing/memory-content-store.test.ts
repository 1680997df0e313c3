import { contentStoreSuite } from "./suites/content.suite.ts";
import { MemoryContentStore } from "./memory-content-store.ts";

contentStoreSuite("MemoryContentStore", async () => {
  const store = new MemoryContentStore();
  return { store, cleanup: () => store.close(), pendingWrites: async () => store.openWriters };
});
