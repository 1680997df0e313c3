/**
 * Leases protect what an operation is writing from garbage collection until
 * the operation has recorded it (containerd core/leases). GC keeps every blob
 * and layer newer than the oldest live lease. A lease that outlives a crashed
 * process expires on its own.
 */
import { randomUUID } from "node:crypto";
import type { EngineContext } from "./context.ts";

export function acquireLease(ctx: EngineContext, ttlMs = 6 * 60 * 60 * 1000): Disposable & { readonly id: string; readonly created: Date } {
  const id = randomUUID();
  const created = ctx.now();
  ctx.db.db
    .prepare("INSERT INTO leases (id, created, expires) VALUES (?, ?, ?)")
    .run(id, created.toISOString(), new Date(created.getTime() + ttlMs).toISOString());
  return {
    id,
    created,
    [Symbol.dispose]: () => {
      ctx.db.db.prepare("DELETE FROM leases WHERE id = ?").run(id);
    },
  };
}

/** The start of the oldest live lease, or undefined when none is live. */
export function oldestLease(ctx: EngineContext): Date | undefined {
  const now = ctx.now().toISOString();
  ctx.db.db.prepare("DELETE FROM leases WHERE expires < ?").run(now);
  const row = ctx.db.db.prepare("SELECT MIN(created) AS c FROM leases").get() as { c: string | null };
  return row.c === null ? undefined : new Date(row.c);
}
