/** `network rm` and `network prune`. */
import { conflict, forbidden, kindOf } from "../core/index.ts";
import type { EngineContext } from "./context.ts";
import { networkInspect, networkList, PREDEFINED } from "./network-inspect.ts";
import { networkOf } from "./services.ts";

/**
 * @throws forbidden `<name> is a pre-defined network and cannot be removed`
 * @throws conflict `error while removing network: network <name> id <id> has active endpoints`
 * @throws not-found
 */
export async function networkRemove(ctx: EngineContext, nameOrId: string): Promise<void> {
  const v = await networkInspect(ctx, nameOrId);
  if ((PREDEFINED as readonly string[]).includes(v.Name)) throw forbidden(`${v.Name} is a pre-defined network and cannot be removed`);
  if (Object.keys(v.Containers).length > 0) throw conflict(`error while removing network: network ${v.Name} id ${v.Id} has active endpoints`);
  await networkOf(ctx).remove(v.Name);
}

/** Removes every user-defined network no running container is attached to; returns their names. */
export async function networkPrune(ctx: EngineContext, o: { filters?: Record<string, string[]> } = {}): Promise<{ NetworksDeleted: string[] }> {
  const deleted: string[] = [];
  const labelFilters = o.filters?.["label"] === undefined ? {} : { label: o.filters["label"] };
  for (const v of await networkList(ctx, { filters: { ...labelFilters, type: ["custom"] } })) {
    if (Object.keys(v.Containers).length > 0) continue;
    try {
      await networkOf(ctx).remove(v.Name);
      deleted.push(v.Name);
    } catch (e) {
      if (kindOf(e) !== "conflict" && kindOf(e) !== "not-found") throw e;
    }
  }
  return { NetworksDeleted: deleted };
}
