/**
 * Random container names in docker's style: adjective_surname (moby
 * pkg/namesgenerator). The word lists here are berth's own, nautical-leaning.
 */
import { randomInt } from "node:crypto";

const left = [
  "admiring", "agile", "amazing", "bold", "brave", "calm", "clever", "cool", "dazzling", "eager", "elegant", "epic", "fervent",
  "friendly", "gallant", "gentle", "happy", "hopeful", "jolly", "keen", "kind", "lucid", "modest", "nifty", "noble", "patient",
  "quirky", "relaxed", "serene", "sharp", "steady", "stoic", "sweet", "tender", "trusting", "upbeat", "vibrant", "wizardly", "zealous",
];
const right = [
  "anchor", "bowline", "cabin", "compass", "current", "dock", "estuary", "ferry", "fjord", "galley", "harbor", "helm", "hull",
  "jetty", "keel", "lagoon", "lantern", "lighthouse", "mast", "mooring", "navigator", "oar", "pier", "quay", "reef", "rudder",
  "sail", "schooner", "sextant", "skipper", "slipway", "starboard", "tide", "voyage", "wake", "wharf", "windlass",
];

export function randomName(retry = 0): string {
  const name = `${left[randomInt(left.length)]}_${right[randomInt(right.length)]}`;
  return retry > 0 ? `${name}${randomInt(10)}` : name;
}
