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
  pull: load("./image/pull.ts"),
  push: load("./image/push.ts"),
  login: load("./auth/login.ts"),
  logout: load("./auth/logout.ts"),
  build: load("./image/build.ts"),
  run: load("./container/run.ts"),
  create: load("./container/create.ts"),
  start: load("./container/start.ts"),
  stop: load("./container/stop.ts", "stop"),
  restart: load("./container/stop.ts", "restart"),
  kill: load("./container/stop.ts", "kill"),
  pause: load("./container/stop.ts", "pause"),
  unpause: load("./container/stop.ts", "unpause"),
  rm: load("./container/stop.ts", "rm"),
  wait: load("./container/stop.ts", "wait"),
  rename: load("./container/stop.ts", "rename"),
  ps: load("./container/ps.ts"),
  logs: load("./container/logs.ts"),
  attach: load("./container/attach.ts"),
  exec: load("./container/exec.ts"),
  port: load("./container/inspect.ts", "port"),
  cp: load("./container/cp.ts"),
  diff: load("./container/diff.ts"),
  commit: load("./container/commit.ts"),
  export: load("./container/export.ts"),
  top: load("./container/top.ts"),
  stats: load("./container/stats.ts"),
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
      pull: topLevel["pull"]!,
      push: topLevel["push"]!,
      build: topLevel["build"]!,
      bootstrap: load("./image/bootstrap.ts"),
    },
  },
  container: {
    summary: "Manage containers",
    verbs: {
      run: topLevel["run"]!,
      create: topLevel["create"]!,
      start: topLevel["start"]!,
      stop: topLevel["stop"]!,
      restart: topLevel["restart"]!,
      kill: topLevel["kill"]!,
      pause: topLevel["pause"]!,
      unpause: topLevel["unpause"]!,
      rm: topLevel["rm"]!,
      remove: topLevel["rm"]!,
      wait: topLevel["wait"]!,
      rename: topLevel["rename"]!,
      ls: topLevel["ps"]!,
      list: topLevel["ps"]!,
      ps: topLevel["ps"]!,
      logs: topLevel["logs"]!,
      port: topLevel["port"]!,
      inspect: load("./container/inspect.ts", "inspect"),
      cleanup: load("./container/stop.ts", "cleanup"),
      attach: topLevel["attach"]!,
      exec: topLevel["exec"]!,
      cp: topLevel["cp"]!,
      diff: topLevel["diff"]!,
      commit: topLevel["commit"]!,
      export: topLevel["export"]!,
      top: topLevel["top"]!,
      stats: topLevel["stats"]!,
      prune: load("./container/prune.ts"),
    },
  },
  network: {
    summary: "Manage networks",
    verbs: {
      create: load("./network/network.ts", "create"),
      ls: load("./network/network.ts", "ls"),
      list: load("./network/network.ts", "ls"),
      rm: load("./network/network.ts", "rm"),
      remove: load("./network/network.ts", "rm"),
      inspect: load("./network/network.ts", "inspect"),
      connect: load("./network/network.ts", "connect"),
      disconnect: load("./network/network.ts", "disconnect"),
      prune: load("./network/network.ts", "prune"),
    },
  },
  volume: {
    summary: "Manage volumes",
    verbs: {
      create: load("./volume/volume.ts", "create"),
      ls: load("./volume/volume.ts", "ls"),
      list: load("./volume/volume.ts", "ls"),
      rm: load("./volume/volume.ts", "rm"),
      remove: load("./volume/volume.ts", "rm"),
      inspect: load("./volume/volume.ts", "inspect"),
      prune: load("./volume/volume.ts", "prune"),
    },
  },
  builder: {
    summary: "Manage builds",
    verbs: {
      build: topLevel["build"]!,
      prune: load("./image/builder-prune.ts"),
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
