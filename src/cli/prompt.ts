/** docker's "Are you sure you want to continue? [y/N]" prompt. Without a terminal on stdin, it reads one line all the same. */
import { createInterface } from "node:readline/promises";
import type { CliContext } from "./context.ts";

export async function confirm(ctx: CliContext, warning: string): Promise<boolean> {
  ctx.io.stdout.write(`${warning}\nAre you sure you want to continue? [y/N] `);
  const rl = createInterface({ input: ctx.io.stdin, terminal: false });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.once("line", resolve);
      rl.once("close", () => resolve(""));
    });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
