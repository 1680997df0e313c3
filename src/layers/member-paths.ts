/**
 * Pure rules for tar member names: normalisation, escapes and whiteouts.
 * No I/O here, so every rule is unit-testable without a file system.
 *
 * Whiteouts follow the OCI image-spec, layer.md "Whiteouts":
 * https://github.com/opencontainers/image-spec/blob/main/layer.md#whiteouts
 */
import { invalidParameter } from "../core/errors.ts";

export const WHITEOUT_PREFIX = ".wh.";
/** Marks its directory opaque: lower layers' children are hidden. */
export const OPAQUE_WHITEOUT = ".wh..wh..opq";
/** AUFS bookkeeping names (`.wh..wh.plnk`, `.wh..wh.aufs`) that docker skips on apply. */
export const WHITEOUT_META_PREFIX = ".wh..wh.";

/**
 * Splits a member name into clean components relative to the layer root.
 * `./a//b/` → ["a","b"]; `a/../b` → ["b"]; `.` or `./` → [] (the root itself).
 * @throws invalid-parameter for an empty or absolute name, a NUL byte, or `..` that leaves the root
 */
export function memberComponents(name: string, what = "member"): string[] {
  if (name === "") throw invalidParameter(`invalid tar ${what}: empty name`);
  if (name.includes("\0")) throw invalidParameter(`invalid tar ${what} ${JSON.stringify(name)}: NUL byte in name`);
  if (name.startsWith("/")) throw invalidParameter(`invalid tar ${what} ${JSON.stringify(name)}: absolute path`);
  const out: string[] = [];
  for (const c of name.split("/")) {
    if (c === "" || c === ".") continue;
    if (c === "..") {
      if (out.length === 0) throw invalidParameter(`invalid tar ${what} ${JSON.stringify(name)}: path escapes the layer root`);
      out.pop();
      continue;
    }
    out.push(c);
  }
  return out;
}

export type WhiteoutKind =
  | { readonly kind: "none" }
  | { readonly kind: "opaque" } // the parent directory is opaque
  | { readonly kind: "whiteout"; readonly target: string } // hides sibling `target`
  | { readonly kind: "meta" }; // AUFS metadata, ignored

/**
 * Classifies the last component of a member name.
 * @throws invalid-parameter for `.wh.` alone or a whiteout of `.`/`..`
 */
export function whiteoutOf(base: string, member: string): WhiteoutKind {
  if (!base.startsWith(WHITEOUT_PREFIX)) return { kind: "none" };
  if (base === OPAQUE_WHITEOUT) return { kind: "opaque" };
  if (base.startsWith(WHITEOUT_META_PREFIX)) return { kind: "meta" };
  const target = base.slice(WHITEOUT_PREFIX.length);
  if (target === "" || target === "." || target === "..") {
    throw invalidParameter(`invalid whiteout ${JSON.stringify(member)}: names no file`);
  }
  return { kind: "whiteout", target };
}
