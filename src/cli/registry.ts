/**
 * Every verb berth knows, as docker names them, each loaded only when used so
 * that a command pays only for its own modules at start-up. Top-level verbs
 * and their management-command forms (`images` = `image ls`) share one module.
 */
import type { Command } from "./command.ts";
import type { CliContext } from "./context.ts";

export type CommandLoader = () => Promise<Command<CliContext>>;

const load =
  (path: string, exportName = "command"): CommandLoader =>
  async () => {
    const mod = (await import(path)) as Record<string, Command<CliContext>>;
    const cmd = mod[exportName];
    if (cmd === undefined) throw new Error(`internal: ${path} has no export ${exportName}`);
    return cmd;
  };

/** Top-level verbs. */
export const topLevel: Readonly<Record<string, CommandLoader>> = {
  version: load("./system/version.ts"),
  info: load("./system/info.ts"),
  images: load("./image/ls.ts"),
  import: load("./image/import.ts"),
  tag: load("./image/tag.ts"),
  rmi: load("./image/rm.ts"),
  history: load("./image/history.ts"),
  save: load("./image/save.ts"),
  load: load("./image/load.ts"),
  inspect: load("./inspect.ts"),
};

/** Management commands: `berth image ls`, `berth system df`, ... */
export const management: Readonly<Record<string, { summary: string; verbs: Readonly<Record<string, CommandLoader>> }>> = {
  image: {
    summary: "Manage images",
    verbs: {
      ls: topLevel["images"]!,
      list: topLevel["images"]!,
      import: topLevel["import"]!,
      tag: topLevel["tag"]!,
      rm: topLevel["rmi"]!,
      remove: topLevel["rmi"]!,
      history: topLevel["history"]!,
      save: topLevel["save"]!,
      load: topLevel["load"]!,
      inspect: load("./image/inspect.ts"),
      prune: load("./image/prune.ts"),
    },
  },
  system: {
    summary: "Manage berth",
    verbs: {
      df: load("./system/df.ts"),
      info: topLevel["info"]!,
      prune: load("./system/prune.ts"),
    },
  },
};
