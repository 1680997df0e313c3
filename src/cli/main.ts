/**
 * The berth command line: global flags, verb lookup, per-verb flags, and
 * docker's error conventions:
 * - a flag error prints the message and "See 'berth X --help'." and exits 125;
 * - a wrong number of arguments prints docker's "requires ..." text and exits 1;
 * - an engine error prints "Error response from daemon: <message>" and exits 1
 *   (verbs that run containers return 125 instead, as docker run does).
 */
import { isEngineError, kindOf } from "../core/index.ts";
import { loadEngineConfig } from "../engine/config.ts";
import type { Engine } from "../engine/engine.ts";
import type { CliIo, Command } from "./command.ts";
import type { CliContext } from "./context.ts";
import { FlagSet, flagBool, type FlagSpec } from "./flags.ts";
import { management, topLevel } from "./registry.ts";

export const VERSION = "0.1.0";
const PROG = "berth";

const globalFlags = new FlagSet([
  { name: "debug", short: "D", type: "bool", description: "Enable debug mode" },
  { name: "log-level", short: "l", type: "string", description: 'Set the logging level ("debug", "info", "warn", "error", "fatal")', default: "info" },
  { name: "version", short: "v", type: "bool", description: "Print version information and quit" },
  { name: "help", short: "h", type: "bool", description: "Print usage" },
  { name: "config", type: "string", description: "Location of client config files", default: "~/.docker" },
  { name: "host", short: "H", type: "strings", description: "Daemon socket to connect to (unused: berth is daemonless)", hidden: true },
]);

const helpFlag: FlagSpec = { name: "help", type: "bool", description: "Print usage" };

function mainUsage(): string {
  const verbs = Object.keys(topLevel).sort();
  const mgmt = Object.entries(management)
    .map(([k, v]) => `  ${k.padEnd(12)}${v.summary}`)
    .join("\n");
  return `Usage:  ${PROG} [OPTIONS] COMMAND

A Docker-compatible container engine

Management Commands:
${mgmt}

Commands:
${verbs.map((v) => `  ${v}`).join("\n")}

Global Options:
${globalFlags.usage()}

Run '${PROG} COMMAND --help' for more information on a command.
`;
}

function commandUsage(cmd: Command<CliContext>, flags: FlagSet): string {
  const aliases = cmd.aliases === undefined || cmd.aliases.length === 0 ? "" : `\nAliases:\n  ${cmd.aliases.join(", ")}\n`;
  return `\nUsage:  ${cmd.usage}\n\n${cmd.summary}\n${aliases}\nOptions:\n${flags.usage()}\n`;
}

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const err = (s: string): void => void io.stderr.write(s.endsWith("\n") ? s : `${s}\n`);
  let global;
  try {
    global = globalFlags.parse(argv, { interspersed: false });
  } catch (e) {
    err(`${(e as Error).message}\nSee '${PROG} --help'.`);
    return 125;
  }
  if (flagBool(global, "version")) {
    io.stdout.write(`berth version ${VERSION}\n`);
    return 0;
  }
  let [first, ...rest] = global.args;
  if (first === undefined || flagBool(global, "help") || first === "help") {
    io.stdout.write(mainUsage());
    return first === undefined && !flagBool(global, "help") ? 0 : 0;
  }
  let loader = topLevel[first];
  let name = first;
  const group = management[first];
  if (group !== undefined) {
    const sub = rest[0];
    if (sub === undefined || sub === "--help" || sub === "-h") {
      const verbs = Object.keys(group.verbs).sort();
      io.stdout.write(`\nUsage:  ${PROG} ${first} COMMAND\n\n${group.summary}\n\nCommands:\n${verbs.map((v) => `  ${v}`).join("\n")}\n\nRun '${PROG} ${first} COMMAND --help' for more information on a command.\n`);
      return sub === undefined ? 0 : 0;
    }
    loader = group.verbs[sub];
    name = `${first} ${sub}`;
    rest = rest.slice(1);
    if (loader === undefined) {
      err(`${PROG}: '${name}' is not a ${PROG} command.\nSee '${PROG} ${first} --help'`);
      return 1;
    }
  }
  if (loader === undefined) {
    err(`${PROG}: '${first}' is not a ${PROG} command.\nSee '${PROG} --help'`);
    return 1;
  }
  const cmd = await loader();
  const flags = new FlagSet([...cmd.flags, helpFlag]);
  let parsed;
  try {
    parsed = flags.parse(rest, { interspersed: cmd.interspersed ?? true });
  } catch (e) {
    err(`${(e as Error).message}\nSee '${PROG} ${name} --help'.`);
    return 125;
  }
  if (flagBool(parsed, "help")) {
    io.stdout.write(commandUsage(cmd, flags));
    return 0;
  }
  const n = parsed.args.length;
  const argError =
    cmd.minArgs !== undefined && cmd.maxArgs !== undefined && cmd.minArgs === cmd.maxArgs && n !== cmd.minArgs
      ? `requires exactly ${cmd.minArgs} argument${cmd.minArgs === 1 ? "" : "s"}.`
      : cmd.minArgs !== undefined && n < cmd.minArgs
        ? `requires at least ${cmd.minArgs} argument${cmd.minArgs === 1 ? "" : "s"}.`
        : cmd.maxArgs !== undefined && n > cmd.maxArgs
          ? cmd.maxArgs === 0
            ? "accepts no arguments."
            : `requires at most ${cmd.maxArgs} argument${cmd.maxArgs === 1 ? "" : "s"}.`
          : undefined;
  if (argError !== undefined) {
    err(`"${PROG} ${name}" ${argError}\nSee '${PROG} ${name} --help'.\n\nUsage:  ${cmd.usage}\n\n${cmd.summary}`);
    return 1;
  }
  let engine: Engine | undefined;
  let config;
  try {
    config = loadEngineConfig(io.env);
  } catch (e) {
    err(`Error: ${(e as Error).message}`);
    return 125;
  }
  const ctx: CliContext = {
    io,
    config,
    prog: PROG,
    engine: async () => {
      if (engine === undefined) {
        const { Engine } = await import("../engine/engine.ts");
        engine = await Engine.open(config);
      }
      return engine;
    },
  };
  try {
    return await cmd.run(ctx, parsed);
  } catch (e) {
    if (flagBool(global, "debug")) err(String((e as Error).stack ?? e));
    const runLike = cmd.errorExitCode !== undefined;
    if (isEngineError(e) || kindOf(e) !== "unknown") {
      if (kindOf(e) === "cancelled") return 130;
      err(`${runLike ? `${PROG}: ` : ""}Error response from daemon: ${(e as Error).message}${runLike ? `\nRun '${PROG} ${name} --help' for more information` : ""}`);
    } else {
      err(`${runLike ? `${PROG}: ` : ""}Error: ${(e as Error).message}`);
    }
    return cmd.errorExitCode?.(e) ?? 1;
  } finally {
    engine?.close();
  }
}
