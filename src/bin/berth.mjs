#!/usr/bin/env node
/**
 * The berth command's entry point: installs the stripped-source cache
 * (ts-cache.mjs), then runs berth.ts. Plain JavaScript so that a warm start
 * loads no TypeScript stripper; `node src/bin/berth.ts` works as well, only
 * slower.
 */
import module from "node:module";
import { installTsCache } from "./ts-cache.mjs";

module.enableCompileCache?.();
installTsCache(new URL("../", import.meta.url).href);
await import("./berth.ts");
