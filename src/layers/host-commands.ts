/**
 * The few file operations Node lacks (mknod, xattrs), done with the coreutils `mknod` and the
 * `attr` package's `setfattr`/`getfattr`. Used only for rare entries (devices, fifos, whiteouts,
 * opaque directories), so one process per entry is acceptable.
 *
 * Belongs behind platform/'s HostOps once that module exists (STYLE.md part 2, rule 8).
 */
import { execFile } from "node:child_process";
import { systemError, unavailable } from "../core/errors.ts";

interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

function run(cmd: string, args: readonly string[], signal: AbortSignal | undefined): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: "utf8", maxBuffer: 256 << 20, ...(signal ? { signal } : {}) }, (err, stdout, stderr) => {
      if (err === null) return resolve({ stdout, stderr, code: 0 });
      const e = err as NodeJS.ErrnoException & { code?: unknown };
      if (e.name === "AbortError") return reject(err);
      if (e.code === "ENOENT") return reject(unavailable(`${cmd} not found: install it (Debian: ${cmd === "mknod" ? "coreutils" : "attr"})`, { cause: err }));
      if (typeof e.code === "number") return resolve({ stdout, stderr, code: e.code });
      reject(systemError(`${cmd}: ${err.message}`, { cause: err }));
    });
  });
}

/** Creates a node: `c`/`b` device (major, minor) or `p` fifo, with exactly `mode` permission bits. @throws system */
export async function mknod(
  path: string,
  o: { type: "c" | "b" | "p"; mode: number; major?: number; minor?: number; signal?: AbortSignal },
): Promise<void> {
  const args = ["-m", (o.mode & 0o7777).toString(8), "--", path, o.type];
  if (o.type !== "p") args.push(String(o.major ?? 0), String(o.minor ?? 0));
  const r = await run("mknod", args, o.signal);
  if (r.code !== 0) throw systemError(`mknod ${path}: ${r.stderr.trim()}`);
}

/** Sets an xattr on `path` itself (never through a symlink). @throws system */
export async function setXattr(path: string, name: string, value: string, signal?: AbortSignal): Promise<void> {
  const r = await run("setfattr", ["-h", "-n", name, "-v", value, "--", path], signal);
  if (r.code !== 0) throw systemError(`setfattr ${name} on ${path}: ${r.stderr.trim()}`);
}

/** Reads one xattr as text, or undefined when absent. @throws system */
export async function getXattr(path: string, name: string, signal?: AbortSignal): Promise<string | undefined> {
  const r = await run("getfattr", ["-h", "--only-values", "-n", name, "--", path], signal);
  if (r.code !== 0) return undefined;
  return r.stdout;
}

/** Undoes getfattr's escaping of file names (`\ooo` octal and `\\`). */
function unescapeName(s: string): string {
  const bytes: number[] = [];
  const raw = Buffer.from(s, "utf8");
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]!;
    if (b === 0x5c && i + 3 < raw.length && /^[0-7]{3}$/.test(raw.subarray(i + 1, i + 4).toString("latin1"))) {
      bytes.push(parseInt(raw.subarray(i + 1, i + 4).toString("latin1"), 8));
      i += 3;
    } else if (b === 0x5c && raw[i + 1] === 0x5c) {
      bytes.push(0x5c);
      i += 1;
    } else {
      bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/**
 * Every path under `root` (inclusive, absolute) whose xattr `name` equals `value`, from one
 * `getfattr -R` call (it does not follow symlinks). Paths lacking the xattr are simply absent.
 */
export async function findXattr(root: string, name: string, value: string, signal?: AbortSignal): Promise<Set<string>> {
  const r = await run("getfattr", ["-R", "-h", "--absolute-names", "-e", "text", "-n", name, "--", root], signal);
  const out = new Set<string>();
  let file: string | undefined;
  for (const line of r.stdout.split("\n")) {
    if (line.startsWith("# file: ")) file = unescapeName(line.slice("# file: ".length));
    else if (file !== undefined && line.startsWith(`${name}=`)) {
      const v = line.slice(name.length + 1);
      if (v === JSON.stringify(value) || v === value) out.add(file);
    }
  }
  return out;
}
