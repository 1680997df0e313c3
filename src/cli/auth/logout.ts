/** `berth logout [SERVER]` (docker logout): removes stored credentials for a registry. */
import { logout } from "../../registry/index.ts";
import { dockerConfigPath } from "../../engine/registry-client-factory.ts";
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { loginServer } from "./server.ts";

export const command: Command<CliContext> = {
  name: "logout",
  usage: "berth logout [SERVER]",
  summary: "Log out from a registry.\nIf no server is specified, the default is defined by the daemon.",
  maxArgs: 1,
  flags: [],
  async run(ctx, p) {
    const server = loginServer(p.args[0]);
    const removed = await logout({ registry: server.host, configPath: dockerConfigPath(ctx.io.env) });
    ctx.io.stdout.write(removed ? `Removing login credentials for ${server.shown}\n` : `Not logged in to ${server.shown}\n`);
    return 0;
  },
};
