export type { BlobInfo, ContentStore, ContentWriter } from "./content-store.ts";
export { LocalContentStore, DEFAULT_MAX_READ_BYTES, STALE_TEMP_MS, abortable, writeError } from "./local-content-store.ts";
