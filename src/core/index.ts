export * from "./errors.ts";
export * from "./digest.ts";
export * from "./descriptor.ts";
export * from "./streams.ts";
