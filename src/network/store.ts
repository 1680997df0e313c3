/**
 * NetworkStore over JSON files: <dir>/<name>.json, written to a temp file and renamed,
 * so a reader never sees a half-written config. Creation uses an exclusive link, so two
 * processes creating the same name cannot both succeed.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile, link } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { conflict, dataLoss, notFound } from "../core/errors.ts";
import type { NetworkConfig, NetworkStore } from "./types.ts";

export class JsonNetworkStore implements NetworkStore {
  readonly #dir: string;
  constructor(dir: string) {
    this.#dir = dir;
  }

  async list(): Promise<NetworkConfig[]> {
    let names: string[];
    try {
      names = await readdir(this.#dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw e;
    }
    const out: NetworkConfig[] = [];
    for (const f of names.filter((n) => n.endsWith(".json")).sort()) {
      const n = await this.get(f.slice(0, -5));
      if (n !== undefined) out.push(n);
    }
    return out;
  }

  async get(name: string): Promise<NetworkConfig | undefined> {
    let text: string;
    try {
      text = await readFile(this.#path(name), "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
    try {
      return JSON.parse(text) as NetworkConfig;
    } catch (e) {
      throw dataLoss(`network config ${this.#path(name)} is corrupt`, { cause: e });
    }
  }

  async create(n: NetworkConfig): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    const tmp = join(this.#dir, `.tmp-${randomBytes(6).toString("hex")}`);
    await writeFile(tmp, JSON.stringify(n, null, 2) + "\n", { mode: 0o644 });
    try {
      await link(tmp, this.#path(n.name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") throw conflict(`network with name ${n.name} already exists`);
      throw e;
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async delete(name: string): Promise<void> {
    const p = this.#path(name);
    const gone = join(this.#dir, `.del-${randomBytes(6).toString("hex")}`);
    try {
      await rename(p, gone);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") throw notFound(`network ${name} not found`);
      throw e;
    }
    await rm(gone, { force: true });
  }

  #path(name: string): string {
    return join(this.#dir, `${name}.json`);
  }
}
