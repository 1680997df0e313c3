export * from "./requires.ts";
