/**
 * A persistent cache of type-stripped berth sources, installed as a module
 * load hook before the first .ts module loads.
 *
 * Why: Node strips TypeScript types on every start, and the stripper (amaro,
 * SWC compiled to WebAssembly) costs about 35 ms to load plus about 15 ms to
 * strip berth's ~120 modules of a simple command; Node's compile cache does
 * not skip that step. With this hook a warm start loads no stripper at all:
 * each `src/**.ts` module's JavaScript comes from the cache.
 *
 * Cache: <dir>/<sha1 of the source path>.js, whose first line records the
 * source's mtime and size and the Node version; a mismatch (the source was
 * edited, Node was upgraded) strips the source again with Node's own
 * `module.stripTypeScriptTypes` and rewrites the entry. Stripping keeps every
 * line and column in place, so stack traces stay exact. The directory is
 * $BERTH_TS_CACHE, else $XDG_CACHE_HOME/berth/ts, else ~/.cache/berth/ts. It is
 * used only if it is a directory owned by this user that nobody else can write
 * (a planted cache would be code run as root); otherwise, or if it is
 * unwritable, the hook still strips in-process and only speed is lost.
 * BERTH_TS_CACHE=off turns the hook off (Node strips as usual);
 * BERTH_TS_CACHE_DEBUG=1 names each module stripped afresh on stderr.
 *
 * This file is JavaScript on purpose: a .ts file here would load the stripper.
 */
import module from "node:module";
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Installs the hook for .ts files under `rootUrl` (a file: URL ending in "/").
 * @param {string} rootUrl
 * @returns {void}
 */
export function installTsCache(rootUrl) {
  const setting = process.env["BERTH_TS_CACHE"];
  if (setting === "off" || typeof module.registerHooks !== "function" || typeof module.stripTypeScriptTypes !== "function") return;
  const dir =
    setting !== undefined && setting !== ""
      ? setting
      : join(process.env["XDG_CACHE_HOME"] || join(homedir(), ".cache"), "berth", "ts");
  /** @type {boolean | undefined} */
  let usable;
  const dirUsable = () => {
    if (usable !== undefined) return usable;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const st = lstatSync(dir);
      usable = st.isDirectory() && st.uid === (process.getuid?.() ?? st.uid) && (st.mode & 0o022) === 0;
    } catch {
      usable = false;
    }
    return usable;
  };
  const version = process.version;
  module.registerHooks({
    load(url, context, nextLoad) {
      if (!url.startsWith(rootUrl) || !url.endsWith(".ts")) return nextLoad(url, context);
      const path = fileURLToPath(url);
      let st;
      try {
        st = statSync(path);
      } catch {
        return nextLoad(url, context);
      }
      const stamp = `// berth-ts-cache ${version} ${st.mtimeMs} ${st.size}\n`;
      const entry = join(dir, `${createHash("sha1").update(path).digest("hex")}.js`);
      if (dirUsable()) {
        try {
          const cached = readFileSync(entry, "utf8");
          if (cached.startsWith(stamp)) return { format: "module", source: cached.slice(stamp.length), shortCircuit: true };
        } catch {
          // missing: strip below
        }
      }
      if (process.env["BERTH_TS_CACHE_DEBUG"]) process.stderr.write(`ts-cache miss ${path}\n`);
      const code = module.stripTypeScriptTypes(readFileSync(path, "utf8"), { mode: "strip" });
      if (dirUsable()) {
        try {
          const tmp = `${entry}.${process.pid}.tmp`;
          writeFileSync(tmp, stamp + code);
          renameSync(tmp, entry);
        } catch {
          // an unwritable cache only costs speed
        }
      }
      return { format: "module", source: code, shortCircuit: true };
    },
  });
}
