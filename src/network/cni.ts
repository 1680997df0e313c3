/**
 * CNI plugin execution (containernetworking/cni SPEC.md, version 1.0.0): one plugin per
 * process, parameters in CNI_* variables, the network configuration on stdin, the result
 * (or an error object) on stdout. A conflist is run plugin by plugin: ADD in order, each
 * plugin receiving the previous result as `prevResult`; DEL in reverse order with the
 * final ADD result as `prevResult`.
 */
import { accessSync, constants } from "node:fs";
import { join } from "node:path";
import { notFound, systemError, throwIfAborted } from "../core/errors.ts";
import { run } from "./exec.ts";

export const CNI_VERSION = "1.0.0";

export type PluginConf = { type: string } & Record<string, unknown>;
export interface ConfList {
  cniVersion: string;
  name: string;
  plugins: PluginConf[];
}

/** The parts of a CNI 1.0 result berth reads. */
export interface CniResult {
  cniVersion?: string;
  interfaces?: { name: string; mac?: string; sandbox?: string }[];
  ips?: { address: string; gateway?: string; interface?: number }[];
  routes?: { dst: string; gw?: string }[];
  dns?: unknown;
}

export interface CniRuntime {
  containerId: string;
  netns: string;
  ifName: string;
  /** CNI_ARGS, e.g. "IgnoreUnknown=1;IP=10.88.0.9". */
  args?: string;
  /** Injected as `runtimeConfig` into plugins whose `capabilities` name the key. */
  capabilityArgs?: Record<string, unknown>;
}

/** A plugin error with the spec's code (e.g. 11 = try again later). */
export class CniPluginError extends Error {
  readonly pluginCode: number;
  constructor(message: string, pluginCode: number) {
    super(message);
    this.name = "CniPluginError";
    this.pluginCode = pluginCode;
  }
}

export class CniExec {
  readonly #dirs: readonly string[];
  constructor(pluginDirs: readonly string[]) {
    this.#dirs = pluginDirs;
  }

  findPlugin(type: string): string {
    for (const d of this.#dirs) {
      const p = join(d, type);
      try {
        accessSync(p, constants.X_OK);
        return p;
      } catch {
        /* next */
      }
    }
    throw notFound(`failed to find plugin "${type}" in path [${this.#dirs.join(" ")}]`);
  }

  /** Runs one plugin; returns its parsed stdout (undefined when empty, as for DEL). */
  async invoke(command: "ADD" | "DEL" | "CHECK", conf: Record<string, unknown> & { type: string }, rt: CniRuntime, signal?: AbortSignal): Promise<CniResult | undefined> {
    const path = this.findPlugin(conf.type);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin",
      CNI_COMMAND: command,
      CNI_CONTAINERID: rt.containerId,
      CNI_NETNS: rt.netns,
      CNI_IFNAME: rt.ifName,
      CNI_ARGS: rt.args ?? "",
      CNI_PATH: this.#dirs.join(":"),
    };
    const r = await run(path, [], { env, input: JSON.stringify(conf), ...(signal ? { signal } : {}) });
    const text = r.stdout.trim();
    if (r.code !== 0) {
      let msg = text || r.stderr.trim();
      let code = -1;
      try {
        const e = JSON.parse(text) as { code?: number; msg?: string; details?: string };
        code = e.code ?? -1;
        msg = [e.msg, e.details].filter(Boolean).join(": ");
      } catch {
        /* plain text */
      }
      throw new CniPluginError(`plugin type="${conf.type}" failed (${command.toLowerCase()}): ${msg}`, code);
    }
    if (text === "") return undefined;
    try {
      return JSON.parse(text) as CniResult;
    } catch (e) {
      throw systemError(`plugin ${conf.type} returned invalid JSON: ${text.slice(0, 200)}`, { cause: e });
    }
  }

  #pluginConf(list: ConfList, p: PluginConf, rt: CniRuntime, prev: CniResult | undefined): PluginConf {
    const conf: PluginConf = { ...p, cniVersion: list.cniVersion, name: list.name };
    const caps = p["capabilities"] as Record<string, boolean> | undefined;
    if (caps !== undefined && rt.capabilityArgs !== undefined) {
      const rc: Record<string, unknown> = {};
      for (const [k, on] of Object.entries(caps)) if (on && rt.capabilityArgs[k] !== undefined) rc[k] = rt.capabilityArgs[k];
      if (Object.keys(rc).length > 0) conf["runtimeConfig"] = rc;
    }
    if (prev !== undefined) conf["prevResult"] = prev;
    return conf;
  }

  /** ADD through the list. On failure the caller runs `delList`, as the spec requires. */
  async addList(list: ConfList, rt: CniRuntime, signal?: AbortSignal): Promise<CniResult> {
    let prev: CniResult | undefined;
    for (const p of list.plugins) {
      throwIfAborted(signal);
      prev = (await this.invoke("ADD", this.#pluginConf(list, p, rt, prev), rt, signal)) ?? prev;
    }
    return prev ?? {};
  }

  /** DEL in reverse; keeps going past failures and throws the first one at the end. */
  async delList(list: ConfList, rt: CniRuntime, prev: CniResult | undefined): Promise<void> {
    const errors: unknown[] = [];
    for (const p of [...list.plugins].reverse()) {
      try {
        await this.invoke("DEL", this.#pluginConf(list, p, rt, prev), rt);
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length > 0) throw errors[0];
  }
}
