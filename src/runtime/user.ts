/**
 * `-u user[:group]` resolution against the rootfs's /etc/passwd and
 * /etc/group, with runc's libcontainer/user GetExecUser rules (what Docker
 * uses): names must exist; numeric ids pass through (taking gid and home from
 * a matching passwd entry if there is one); supplementary groups are the
 * groups listing the user as a member, unless a group was given explicitly;
 * HOME defaults to "/". Files are read without following symlinks out of the
 * rootfs.
 */
import { invalidParameter } from "../core/errors.ts";
import { readRootfsFile } from "./secure-path.ts";

export interface ExecUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

interface PasswdEntry { name: string; uid: number; gid: number; home: string }
interface GroupEntry { name: string; gid: number; members: string[] }

const MAX_ID = 2 ** 31 - 1;

function parseId(s: string): number | undefined {
  if (!/^[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return n <= MAX_ID ? n : undefined;
}

export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (t === "" || t.startsWith("#")) continue;
    const f = t.split(":");
    const uid = parseId(f[2] ?? "");
    const gid = parseId(f[3] ?? "");
    if (f[0] === undefined || uid === undefined || gid === undefined) continue;
    out.push({ name: f[0], uid, gid, home: f[5] ?? "" });
  }
  return out;
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (t === "" || t.startsWith("#")) continue;
    const f = t.split(":");
    const gid = parseId(f[2] ?? "");
    if (f[0] === undefined || gid === undefined) continue;
    out.push({ name: f[0], gid, members: (f[3] ?? "").split(",").filter((m) => m !== "") });
  }
  return out;
}

/**
 * Resolves a Docker user spec ("", "name", "uid", "name:group", "uid:gid")
 * against the rootfs.
 * @throws invalid-parameter "unable to find user x: no matching entries in passwd file"
 *         (Docker's text) or the group equivalent
 */
export async function resolveUser(rootfs: string, spec: string): Promise<ExecUser> {
  const [passwdText, groupText] = await Promise.all([
    readRootfsFile(rootfs, "/etc/passwd"),
    readRootfsFile(rootfs, "/etc/group"),
  ]);
  return resolveUserFrom(spec, passwdText === undefined ? [] : parsePasswd(passwdText), groupText === undefined ? [] : parseGroup(groupText));
}

/** The pure part of resolveUser, for tests and callers with their own files. */
export function resolveUserFrom(spec: string, passwd: PasswdEntry[], groups: GroupEntry[]): ExecUser {
  const colon = spec.indexOf(":");
  const userArg = colon < 0 ? spec : spec.slice(0, colon);
  const groupArg = colon < 0 ? "" : spec.slice(colon + 1);

  const user: ExecUser = { uid: 0, gid: 0, additionalGids: [], home: "/" };
  let name: string | undefined;
  const uidNum = userArg === "" ? 0 : parseId(userArg);
  const entry = uidNum !== undefined ? passwd.find((p) => p.uid === uidNum) : passwd.find((p) => p.name === userArg);
  if (entry === undefined && uidNum === undefined) {
    throw invalidParameter(`unable to find user ${userArg}: no matching entries in passwd file`);
  }
  if (entry !== undefined) {
    user.uid = entry.uid;
    user.gid = entry.gid;
    if (entry.home !== "") user.home = entry.home;
    name = entry.name;
  } else {
    user.uid = uidNum as number;
  }

  if (groupArg !== "") {
    const gidNum = parseId(groupArg);
    if (gidNum !== undefined) user.gid = gidNum;
    else {
      const g = groups.find((x) => x.name === groupArg);
      if (g === undefined) throw invalidParameter(`unable to find group ${groupArg}: no matching entries in group file`);
      user.gid = g.gid;
    }
  } else if (name !== undefined) {
    const n = name;
    user.additionalGids = [...new Set(groups.filter((g) => g.members.includes(n)).map((g) => g.gid))];
  }
  return user;
}
