/**
 * `--change` instructions of `import` and `commit`: Dockerfile lines that edit
 * an image's container config (Docker allows CMD, ENTRYPOINT, ENV, EXPOSE,
 * LABEL, ONBUILD, USER, VOLUME, WORKDIR, STOPSIGNAL).
 */
import { invalidParameter } from "../core/index.ts";
import type { ContainerConfig } from "../oci/index.ts";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const allowed = ["CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "USER", "VOLUME", "WORKDIR", "STOPSIGNAL"];

/** JSON array of strings, or undefined if `s` is not one (Docker then takes the shell form). */
function jsonArray(s: string): string[] | undefined {
  if (!s.startsWith("[")) return undefined;
  try {
    const v: unknown = JSON.parse(s);
    return Array.isArray(v) && v.every((x) => typeof x === "string") ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Splits `k=v k2="v 2"` pairs, honouring quotes and backslashes. */
function words(s: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quote: string | undefined;
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else if (c === "\\" && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < s.length) {
      cur += s[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote !== undefined) throw invalidParameter(`unmatched quote in: ${s}`);
  if (inWord) out.push(cur);
  return out;
}

function pairs(keyword: string, rest: string): [string, string][] {
  const ws = words(rest);
  if (ws.length === 0) throw invalidParameter(`${keyword} requires at least one argument`);
  if (!ws[0]!.includes("=")) {
    // legacy form: ENV key value with spaces
    const sp = rest.trim().search(/\s/);
    if (sp < 0) throw invalidParameter(`${keyword} names can not be blank`);
    return [[rest.trim().slice(0, sp), rest.trim().slice(sp).trim()]];
  }
  return ws.map((w) => {
    const eq = w.indexOf("=");
    if (eq <= 0) throw invalidParameter(`${keyword} names can not be blank`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

/** Applies `--change` lines to a container config and returns the new config. @throws invalid-parameter */
export function applyChanges(base: ContainerConfig, changes: readonly string[]): ContainerConfig {
  const c: Mutable<ContainerConfig> = { ...base };
  for (const line of changes) {
    const trimmed = line.trim();
    const m = /^(\S+)\s*(.*)$/s.exec(trimmed);
    if (m === null) continue;
    const keyword = m[1]!.toUpperCase();
    const rest = m[2]!.trim();
    if (!allowed.includes(keyword)) throw invalidParameter(`${m[1]} is not a valid change command`);
    switch (keyword) {
      case "CMD":
      case "ENTRYPOINT": {
        const value = jsonArray(rest) ?? ["/bin/sh", "-c", rest];
        if (keyword === "CMD") c.Cmd = value;
        else c.Entrypoint = value;
        break;
      }
      case "ENV": {
        const env = [...(c.Env ?? [])];
        for (const [k, v] of pairs("ENV", rest)) {
          const i = env.findIndex((e) => e.split("=", 1)[0] === k);
          if (i >= 0) env[i] = `${k}=${v}`;
          else env.push(`${k}=${v}`);
        }
        c.Env = env;
        break;
      }
      case "LABEL": {
        const labels: Record<string, string> = { ...(c.Labels ?? {}) };
        for (const [k, v] of pairs("LABEL", rest)) labels[k] = v;
        c.Labels = labels;
        break;
      }
      case "EXPOSE": {
        const ports: Record<string, object> = { ...(c.ExposedPorts ?? {}) };
        for (const p of words(rest)) {
          if (!/^\d+(-\d+)?(\/(tcp|udp|sctp))?$/i.test(p)) throw invalidParameter(`invalid containerPort: ${p}`);
          ports[p.includes("/") ? p.toLowerCase() : `${p}/tcp`] = {};
        }
        c.ExposedPorts = ports;
        break;
      }
      case "VOLUME": {
        const vols: Record<string, object> = { ...(c.Volumes ?? {}) };
        for (const v of jsonArray(rest) ?? words(rest)) vols[v] = {};
        c.Volumes = vols;
        break;
      }
      case "USER":
        c.User = rest;
        break;
      case "WORKDIR":
        c.WorkingDir = rest.startsWith("/") ? rest : `${c.WorkingDir ?? "/"}/${rest}`.replace(/\/+/g, "/");
        break;
      case "STOPSIGNAL":
        c.StopSignal = rest;
        break;
      case "ONBUILD":
        c.OnBuild = [...(c.OnBuild ?? []), rest];
        break;
    }
  }
  return c;
}
