/** `berth info` (docker info): runtime, root directory and storage driver among the rest. */
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagString } from "../flags.ts";
import { printFormatted } from "../output.ts";
import { bytesSize } from "../units.ts";

export const command: Command<CliContext> = {
  name: "info",
  usage: "berth info [OPTIONS]",
  summary: "Display system-wide information",
  maxArgs: 0,
  flags: [{ name: "format", short: "f", type: "string", description: "Format output using a custom template" }],
  async run(ctx, p) {
    const engine = await ctx.engine();
    const info = await engine.systemInfo();
    if (printFormatted(ctx, flagString(p, "format"), info)) return 0;
    const lines = [
      "Client:",
      ` Version:    ${info.ServerVersion}`,
      " Context:    default",
      " Debug Mode: false",
      "",
      "Server:",
      ` Containers: ${info.Containers}`,
      `  Running: ${info.ContainersRunning}`,
      `  Paused: ${info.ContainersPaused}`,
      `  Stopped: ${info.ContainersStopped}`,
      ` Images: ${info.Images}`,
      ` Server Version: ${info.ServerVersion}`,
      ` Storage Driver: ${info.Driver}`,
      ...info.DriverStatus.map(([k, v]) => `  ${k}: ${v}`),
      ` Cgroup Driver: ${info.CgroupDriver}`,
      ` Cgroup Version: ${info.CgroupVersion}`,
      ` Runtimes: ${Object.keys(info.Runtimes).join(" ") || "none found"}`,
      ...Object.entries(info.Runtimes).map(([n, r]) => `  ${n}: ${r.path}${r.version === undefined ? "" : ` (${r.version})`}${r.status === undefined ? "" : ` [${r.status}]`}`),
      ` Default Runtime: ${info.DefaultRuntime}`,
      ` Kernel Version: ${info.KernelVersion}`,
      ` Operating System: ${info.OperatingSystem}`,
      ` OSType: ${info.OSType}`,
      ` Architecture: ${info.Architecture}`,
      ` CPUs: ${info.NCPU}`,
      ` Total Memory: ${bytesSize(info.MemTotal)}`,
      ` Name: ${info.Name}`,
      ` ID: ${info.ID}`,
      ` Docker Root Dir: ${info.DockerRootDir}`,
      " Debug Mode: false",
      ...(info.RegistryConfig.Mirrors.length === 0 ? [] : [" Registry Mirrors:", ...info.RegistryConfig.Mirrors.map((m) => `  ${m}`)]),
      " Insecure Registries:",
      ...info.RegistryConfig.InsecureRegistryCIDRs.map((c) => `  ${c}`),
      "",
    ];
    ctx.io.stdout.write(lines.join("\n"));
    return 0;
  },
};
