/** `berth logs [OPTIONS] CONTAINER`: stdout and stderr stay separate, as docker keeps them. */
import { invalidParameter } from "../../core/index.ts";
import { readLogs } from "../../runtime/index.ts";
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagBool, flagString } from "../flags.ts";

/** docker's --since/--until: RFC 3339, a Unix timestamp, or a Go duration relative to now (10m, 1h30m). */
export function parseTimeArg(s: string, now: Date): Date {
  if (/^\d+(\.\d+)?$/.test(s)) return new Date(Number(s) * 1000);
  const dur = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+)ms)?$/.exec(s);
  if (dur !== null && s !== "") {
    const ms = Number(dur[1] ?? 0) * 3600e3 + Number(dur[2] ?? 0) * 60e3 + Number(dur[3] ?? 0) * 1e3 + Number(dur[4] ?? 0);
    return new Date(now.getTime() - ms);
  }
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw invalidParameter(`invalid value for "since": failed to parse value as time or duration: "${s}"`);
  return new Date(t);
}

export const command: Command<CliContext> = {
  name: "logs",
  usage: "berth logs [OPTIONS] CONTAINER",
  summary: "Fetch the logs of a container",
  minArgs: 1,
  maxArgs: 1,
  flags: [
    { name: "details", type: "bool", description: "Show extra details provided to logs" },
    { name: "follow", short: "f", type: "bool", description: "Follow log output" },
    { name: "since", type: "string", description: 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
    { name: "tail", short: "n", type: "string", description: 'Number of lines to show from the end of the logs (default "all")', default: "all" },
    { name: "timestamps", short: "t", type: "bool", description: "Show timestamps" },
    { name: "until", type: "string", description: 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
  ],
  async run(ctx, p) {
    const engine = await ctx.engine();
    const rec = await engine.containerGet(p.args[0]!);
    const now = new Date();
    const tailText = flagString(p, "tail") ?? "all";
    if (tailText !== "all" && !/^-?\d+$/.test(tailText)) throw invalidParameter(`invalid value for "tail": ${tailText}`);
    const tail = tailText === "all" || Number(tailText) < 0 ? undefined : Number(tailText);
    const since = flagString(p, "since");
    const until = flagString(p, "until");
    const follow = flagBool(p, "follow") && (rec.state.Status === "running" || rec.state.Status === "paused");
    const stop = new AbortController();
    const onAbort = (): void => stop.abort();
    ctx.io.signal.addEventListener("abort", onAbort, { once: true });
    if (follow) void engine.containerWaitRecord(rec.id).then(() => stop.abort(), () => stop.abort());
    try {
      for await (const r of readLogs(engine.containerLogPath(rec.id), {
        follow,
        signal: stop.signal,
        timestamps: flagBool(p, "timestamps"),
        ...(tail === undefined ? {} : { tail }),
        ...(since === undefined ? {} : { since: parseTimeArg(since, now) }),
        ...(until === undefined ? {} : { until: parseTimeArg(until, now) }),
      })) {
        const out = r.stream === "stdout" ? ctx.io.stdout : ctx.io.stderr;
        out.write(r.complete ? Buffer.concat([r.line, Buffer.from("\n")]) : r.line);
      }
    } catch (err) {
      if (!stop.signal.aborted) throw err;
    }
    return 0;
  },
};
