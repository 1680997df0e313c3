/**
 * berth's own iptables rules (filter table), beside what the CNI plugins write:
 *
 *   FORWARD  -j BERTH-ISOLATION-1            kept as rule 1, ahead of the firewall plugin's CNI-FORWARD
 *   BERTH-ISOLATION-1  -i <br> ! -o <br> -j BERTH-ISOLATION-2     per non-internal network
 *   BERTH-ISOLATION-2  -o <br> -j DROP                             per network
 *   BERTH-ISOLATION-1  -i <br> ! -o <br> -j DROP, -o <br> ! -i <br> -j DROP   per internal network
 *
 * That is docker's two-stage isolation: traffic leaving one berth bridge for another berth
 * bridge is dropped; traffic to the host's uplink passes (and is masqueraded by the bridge
 * plugin); an internal network talks only to itself and the host.
 * Also `sweepContainer`, which removes plugin rules tagged with a container ID when a DEL
 * could not (the namespace was already gone).
 */
import { run, runOk } from "./exec.ts";

const ISO1 = "BERTH-ISOLATION-1";
const ISO2 = "BERTH-ISOLATION-2";

async function ipt(args: string[]): Promise<boolean> {
  return (await run("iptables", ["-w", ...args])).code === 0;
}

async function ensureChain(table: string, chain: string): Promise<void> {
  if (!(await ipt(["-t", table, "-nL", chain]))) await ipt(["-t", table, "-N", chain]);
}

async function ensureRule(chain: string, rule: string[]): Promise<void> {
  if (!(await ipt(["-C", chain, ...rule]))) await runOk("iptables", ["-w", "-A", chain, ...rule]);
}

function rulesFor(bridge: string, internal: boolean): [string, string[]][] {
  const c = ["-m", "comment", "--comment", `berth network ${bridge}`];
  if (internal) {
    return [
      [ISO1, ["-i", bridge, "!", "-o", bridge, ...c, "-j", "DROP"]],
      [ISO1, ["-o", bridge, "!", "-i", bridge, ...c, "-j", "DROP"]],
    ];
  }
  return [
    [ISO1, ["-i", bridge, "!", "-o", bridge, ...c, "-j", ISO2]],
    [ISO2, ["-o", bridge, ...c, "-j", "DROP"]],
  ];
}

/** The rule as `iptables -S` prints it. */
function ruleLine(chain: string, rule: readonly string[]): string {
  return `-A ${chain} ${rule.map((a) => (/\s/.test(a) ? `"${a}"` : a)).join(" ")}`;
}

/**
 * Whether the filter table already has everything `rules` needs, read with one
 * `iptables -S` (the steady state: every container start after the first on a
 * network pays one iptables call here instead of eight).
 */
async function inPlace(rules: readonly [string, string[]][]): Promise<boolean> {
  const r = await run("iptables", ["-w", "-S"]);
  if (r.code !== 0) return false;
  const lines = r.stdout.split("\n");
  if (!lines.includes(`-N ${ISO1}`) || !lines.includes(`-N ${ISO2}`)) return false;
  const forward = lines.filter((l) => l.startsWith("-A FORWARD "));
  if (forward[0] !== `-A FORWARD -j ${ISO1}` || forward.filter((l) => l === `-A FORWARD -j ${ISO1}`).length !== 1) return false;
  return rules.every(([chain, rule]) => lines.includes(ruleLine(chain, rule)));
}

/** Keeps `-j BERTH-ISOLATION-1` as FORWARD's first rule. */
export async function ensureIsolationJumpFirst(): Promise<void> {
  if (await inPlace([])) return;
  await ensureChain("filter", ISO1);
  await ensureChain("filter", ISO2);
  const rules = (await runOk("iptables", ["-w", "-S", "FORWARD"])).split("\n").filter((l) => l.startsWith("-A "));
  if (rules[0] === `-A FORWARD -j ${ISO1}` && rules.filter((r) => r === `-A FORWARD -j ${ISO1}`).length === 1) return;
  while (await ipt(["-D", "FORWARD", "-j", ISO1])) {
    /* remove every copy */
  }
  await runOk("iptables", ["-w", "-I", "FORWARD", "1", "-j", ISO1]);
}

/**
 * Whether the FORWARD chain lets container traffic through on its own: policy
 * ACCEPT and no DROP/REJECT of its own (dockerd, ufw and firewalld all change
 * that). Then the CNI `firewall` plugin, which only adds ACCEPT rules for the
 * container's address (eight iptables calls on ADD, three on DEL), is left out.
 */
export async function forwardAcceptsAll(): Promise<boolean> {
  const r = await run("iptables", ["-w", "-S", "FORWARD"]);
  if (r.code !== 0) return false;
  const lines = r.stdout.split("\n");
  return lines.includes("-P FORWARD ACCEPT") && !lines.some((l) => l.startsWith("-A FORWARD") && /-j (DROP|REJECT)\b/.test(l));
}

export async function addIsolation(bridge: string, internal: boolean): Promise<void> {
  const rules = rulesFor(bridge, internal);
  if (await inPlace(rules)) return;
  await ensureIsolationJumpFirst();
  for (const [chain, rule] of rules) await ensureRule(chain, rule);
}

export async function removeIsolation(bridge: string, internal: boolean): Promise<void> {
  for (const [chain, rule] of rulesFor(bridge, internal)) {
    while (await ipt(["-D", chain, ...rule])) {
      /* remove duplicates too */
    }
  }
}

/** Splits an iptables-save rule line into arguments (handles "quoted \"strings\""). */
export function splitRule(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let inQ = false;
  let has = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (inQ) {
      if (ch === "\\" && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') inQ = false;
      else cur += ch;
    } else if (ch === '"') {
      inQ = true;
      has = true;
    } else if (ch === " ") {
      if (has || cur !== "") out.push(cur);
      cur = "";
      has = false;
    } else cur += ch;
  }
  if (has || cur !== "") out.push(cur);
  return out;
}

/**
 * Removes rules in nat and filter that the CNI plugins tagged with this container
 * (comments `id: "<containerId>"`), the per-container chains they jump to, and any
 * CNI-FORWARD rules naming one of `ips`. Used after DEL, whose plugins skip iptables
 * cleanup when the namespace no longer exists.
 */
export async function sweepContainer(containerId: string, ips: readonly string[]): Promise<void> {
  for (const table of ["nat", "filter"]) {
    const save = await run("iptables-save", ["-t", table]);
    if (save.code !== 0) continue;
    const lines = save.stdout.split("\n").filter((l) => l.startsWith("-A "));
    const chains = new Set<string>();
    for (const l of lines) {
      const hit =
        l.includes(`id: \\"${containerId}\\"`) ||
        (l.startsWith("-A CNI-FORWARD ") && ips.some((ip) => l.includes(` ${ip}/32 `)));
      if (!hit) continue;
      const args = splitRule(l);
      const j = args.indexOf("-j");
      const target = j >= 0 ? args[j + 1] : undefined;
      if (target !== undefined && /^CNI-(DN-)?[0-9a-f]{16,}$/.test(target)) chains.add(target);
      await ipt(["-t", table, "-D", ...args.slice(1)]);
    }
    for (const c of chains) {
      // Remove any remaining jumps to it, then the chain.
      const again = (await run("iptables-save", ["-t", table])).stdout.split("\n");
      for (const l of again) if (l.startsWith("-A ") && l.endsWith(`-j ${c}`)) await ipt(["-t", table, "-D", ...splitRule(l).slice(1)]);
      await ipt(["-t", table, "-F", c]);
      await ipt(["-t", table, "-X", c]);
    }
  }
}
