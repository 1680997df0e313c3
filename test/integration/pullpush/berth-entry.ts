/**
 * The real berth entry point, with pull/push/login/logout registered when the
 * CLI registry does not list them yet (the lead registers them in
 * src/cli/registry.ts; once it does, this adds nothing).
 */
import { management, topLevel, type CommandLoader } from "../../../src/cli/registry.ts";
import type { Command } from "../../../src/cli/command.ts";
import type { CliContext } from "../../../src/cli/context.ts";

const load = (path: string): CommandLoader => async () => ((await import(path)) as { command: Command<CliContext> }).command;
const top = topLevel as Record<string, CommandLoader>;
const verbs: Record<string, string> = {
  pull: "../../../src/cli/image/pull.ts",
  push: "../../../src/cli/image/push.ts",
  login: "../../../src/cli/auth/login.ts",
  logout: "../../../src/cli/auth/logout.ts",
};
for (const [name, path] of Object.entries(verbs)) top[name] ??= load(path);
const image = management["image"]?.verbs as Record<string, CommandLoader> | undefined;
if (image !== undefined) {
  image["pull"] ??= top["pull"]!;
  image["push"] ??= top["push"]!;
}
await import("../../../src/bin/berth.ts");
