/** `network create` (bridge driver only). */
import { conflict, invalidParameter, notFound } from "../core/index.ts";
import type { EngineContext } from "./context.ts";
import { networkOf } from "./services.ts";

export interface NetworkCreateOptions {
  readonly name: string;
  /** "bridge" (default); anything else is an unknown driver. */
  readonly driver?: string;
  readonly subnet?: string;
  readonly gateway?: string;
  readonly internal?: boolean;
  readonly labels?: Record<string, string>;
  readonly options?: Record<string, string>;
}

/**
 * @throws conflict `network with name x already exists`, or a subnet overlapping another network's
 * @throws invalid-parameter for a bad name, subnet or gateway
 * @throws not-found for an unknown driver (docker: `plugin "x" not found`)
 */
export async function networkCreate(ctx: EngineContext, o: NetworkCreateOptions): Promise<{ Id: string; Warning: string }> {
  const driver = o.driver === undefined || o.driver === "" ? "bridge" : o.driver;
  if (driver === "host" || driver === "null") throw conflict(`only one instance of "${driver}" network is allowed`);
  if (driver !== "bridge") throw notFound(`plugin "${driver}" not found`);
  if (o.gateway !== undefined && o.gateway !== "" && (o.subnet === undefined || o.subnet === "")) {
    throw invalidParameter("every ip-range or gateway must have a corresponding subnet");
  }
  const n = await networkOf(ctx).create({
    name: o.name,
    ...(o.subnet === undefined || o.subnet === "" ? {} : { subnet: o.subnet }),
    ...(o.gateway === undefined || o.gateway === "" ? {} : { gateway: o.gateway }),
    internal: o.internal === true,
    labels: o.labels ?? {},
    ...(o.options === undefined || Object.keys(o.options).length === 0 ? {} : { options: o.options }),
  });
  return { Id: n.id, Warning: "" };
}
