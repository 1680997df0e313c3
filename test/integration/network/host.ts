/**
 * Helpers for the network integration tests: iptables snapshots, servers and clients in
 * network namespaces, bounded polling, and host cleanup. Test-only.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";

/** Rule and chain lines of nat and filter, counters stripped, sorted. */
export function iptablesSnapshot(): string[] {
  const out: string[] = [];
  for (const t of ["filter", "nat"]) {
    const r = spawnSync("iptables-save", ["-t", t], { encoding: "utf8" });
    for (const l of r.stdout.split("\n")) {
      if (l.startsWith("-A ")) out.push(`${t} ${l}`);
      else if (l.startsWith(":")) out.push(`${t} ${l.replace(/\s*\[\d+:\d+\]\s*$/, "")}`);
    }
  }
  return out.sort();
}

/** Lines in `after` that are not in `before`. */
export function added(before: string[], after: string[]): string[] {
  const b = new Set(before);
  return after.filter((l) => !b.has(l));
}

function ipt(table: string, args: string[]): boolean {
  return spawnSync("iptables", ["-w", "-t", table, ...args]).status === 0;
}

/**
 * Removes every rule and chain that appeared since `before` (chains the plugins or berth
 * created, and the jumps to them), deletes the given links, restores ip_forward.
 */
export function restoreHost(before: string[], o: { links: string[]; ipForward: string }): void {
  const now = iptablesSnapshot();
  // Only what berth or the CNI plugins made: other software may be changing iptables too.
  const ours = (l: string): boolean => /CNI|BERTH/.test(l) || o.links.some((k) => l.includes(` ${k} `));
  const newLines = added(before, now).filter(ours);
  const newChains = newLines.filter((l) => / :/.test(l)).map((l) => {
    const [table, decl] = l.split(" ");
    return { table: table!, chain: decl!.slice(1) };
  });
  for (const l of newLines.filter((x) => x.includes(" -A "))) {
    const [table, ...rest] = l.split(" ");
    const args = splitArgs(rest.join(" "));
    ipt(table!, ["-D", ...args.slice(1)]);
  }
  for (const { table, chain } of newChains) ipt(table, ["-F", chain]);
  for (const { table, chain } of newChains) ipt(table, ["-X", chain]);
  for (const link of o.links) spawnSync("ip", ["link", "del", link]);
  writeFileSync("/proc/sys/net/ipv4/ip_forward", o.ipForward);
}

export function readIpForward(): string {
  return readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim();
}

function splitArgs(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:\\"|[^"])*)"|(\S+)/g;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) out.push(m[1] !== undefined ? m[1].replaceAll('\\"', '"') : m[2]!);
  return out;
}

export function vethNames(): string[] {
  const r = spawnSync("ip", ["-o", "link", "show", "type", "veth"], { encoding: "utf8" });
  return r.stdout.split("\n").filter(Boolean).map((l) => l.split(":")[1]!.trim().split("@")[0]!).sort();
}

export function linkExists(name: string): boolean {
  return spawnSync("ip", ["link", "show", name]).status === 0;
}

/** Polls `f` until it returns a value that is not undefined, or throws after `ms`. */
export async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (let d = 20; ; d = Math.min(d * 2, 250)) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, d));
  }
}

const SERVER = `
const http = require("node:http");
const [port, host, tag] = process.argv.slice(1);
http.createServer((q, s) => s.end(tag + " " + q.socket.remoteAddress.replace(/^::ffff:/, ""))).listen(Number(port), host);
`;

/** An HTTP server answering "<tag> <client address>", run inside `netns` (a path) or on the host. */
export function startServer(o: { netns?: string; host: string; port: number; tag: string }): ChildProcess {
  const args = ["-e", SERVER, String(o.port), o.host, o.tag];
  const child = o.netns === undefined
    ? spawn(process.execPath, args, { stdio: "ignore" })
    : spawn("nsenter", [`--net=${o.netns}`, process.execPath, ...args], { stdio: "ignore" });
  return child;
}

export function stopServer(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    c.once("exit", () => r());
    c.kill("SIGKILL");
  });
}

/** GET from the host; the body, or undefined on any failure. */
export async function hostGet(url: string, timeoutMs = 1500): Promise<string | undefined> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return await r.text();
  } catch {
    return undefined;
  }
}

const CLIENT = `
fetch(process.argv[1], { signal: AbortSignal.timeout(Number(process.argv[2])) })
  .then((r) => r.text()).then((t) => { process.stdout.write(t); }, () => process.exit(3));
`;

/** GET from inside a namespace; the body, or undefined on failure. */
export async function nsGet(netns: string, url: string, timeoutMs = 1500): Promise<string | undefined> {
  const child = spawn("nsenter", [`--net=${netns}`, process.execPath, "-e", CLIENT, url, String(timeoutMs)], { stdio: ["ignore", "pipe", "ignore"] });
  let out = "";
  child.stdout.on("data", (b: Buffer) => (out += b.toString()));
  const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
  return code === 0 ? out : undefined;
}
