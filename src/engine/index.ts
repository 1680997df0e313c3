export * from "./engine.ts";
export * from "./config.ts";
export type { EngineContext } from "./context.ts";
export type { ImageSummary, ImageFilters } from "./image-list.ts";
export type { ImageInspect } from "./image-inspect.ts";
export type { HistoryItem } from "./image-history.ts";
export type { ImageDeleteItem } from "./image-remove.ts";
export type { DiskUsage } from "./system-df.ts";
