/**
 * Builds tar archives in memory for tests (containerd pkg/archive/tartest). Headers are encoded
 * here byte by byte, never normalised, so hostile names (`/etc/passwd`, `../x`) reach the code
 * under test exactly as written.
 *
 *   const tar = new TarBuilder().dir("etc").file("etc/hosts", "127.0.0.1 localhost\n", { mode: 0o600 })
 *     .symlink("bin", "usr/bin").whiteout("var/cache").build();
 */

export interface EntryOptions {
  readonly uid?: number;
  readonly gid?: number;
  readonly mode?: number;
  /** Unix seconds; default 1_700_000_000. */
  readonly mtime?: number;
}

/** Every ustar field, for raw(). typeflag is the single character ("0", "5", "x", ...). */
export interface RawHeader {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** "ustar\0" + "00" unless overridden (e.g. to test unknown formats). */
  magic: string;
}

export const DEFAULT_MTIME = 1_700_000_000;

function octal(buf: Buffer, off: number, len: number, v: number): void {
  buf.write(v.toString(8).padStart(len - 1, "0") + "\0", off, len, "latin1");
}

/** One 512-byte ustar header; the checksum is computed unless `badChecksum`. */
export function encodeHeader(h: RawHeader, o: { badChecksum?: boolean } = {}): Buffer {
  const b = Buffer.alloc(512);
  const name = Buffer.from(h.name, "utf8");
  if (name.length > 100) throw new Error(`name too long for a raw ustar header: ${h.name}`);
  name.copy(b, 0);
  octal(b, 100, 8, h.mode & 0o7777);
  octal(b, 108, 8, h.uid);
  octal(b, 116, 8, h.gid);
  octal(b, 124, 12, h.size);
  octal(b, 136, 12, h.mtime);
  b.write(h.typeflag, 156, 1, "latin1");
  Buffer.from(h.linkname, "utf8").copy(b, 157, 0, 100);
  b.write(h.magic, 257, 8, "latin1");
  octal(b, 329, 8, h.devmajor);
  octal(b, 337, 8, h.devminor);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  if (o.badChecksum === true) sum += 1;
  b.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "latin1");
  return b;
}

function pad(body: Buffer): Buffer[] {
  const rest = body.length % 512;
  return rest === 0 ? [body] : [body, Buffer.alloc(512 - rest)];
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

export class TarBuilder {
  readonly #chunks: Buffer[] = [];

  #add(h: Partial<RawHeader> & { name: string; typeflag: string }, o: EntryOptions, body = Buffer.alloc(0)): this {
    const full: RawHeader = {
      mode: o.mode ?? (h.typeflag === "5" ? 0o755 : h.typeflag === "2" ? 0o777 : 0o644),
      uid: o.uid ?? 0,
      gid: o.gid ?? 0,
      size: body.length,
      mtime: o.mtime ?? DEFAULT_MTIME,
      linkname: "",
      devmajor: 0,
      devminor: 0,
      magic: "ustar\u000000",
      ...h,
    };
    const longName = Buffer.byteLength(full.name) > 100 || Buffer.byteLength(full.linkname) > 100;
    if (longName) {
      const pax = Buffer.from(paxRecord("path", full.name) + (full.linkname ? paxRecord("linkpath", full.linkname) : ""));
      this.#chunks.push(encodeHeader({ ...full, name: "PaxHeader", typeflag: "x", size: pax.length, linkname: "" }), ...pad(pax));
      full.name = full.name.slice(0, 100);
      full.linkname = full.linkname.slice(0, 100);
      while (Buffer.byteLength(full.name) > 100) full.name = full.name.slice(0, -1);
      while (Buffer.byteLength(full.linkname) > 100) full.linkname = full.linkname.slice(0, -1);
    }
    this.#chunks.push(encodeHeader(full), ...pad(body));
    return this;
  }

  dir(path: string, o: EntryOptions = {}): this {
    return this.#add({ name: path.endsWith("/") ? path : `${path}/`, typeflag: "5" }, o);
  }

  file(path: string, content: string | Uint8Array = "", o: EntryOptions = {}): this {
    return this.#add({ name: path, typeflag: "0" }, o, Buffer.from(content));
  }

  symlink(path: string, target: string, o: EntryOptions = {}): this {
    return this.#add({ name: path, typeflag: "2", linkname: target }, o);
  }

  hardlink(path: string, target: string, o: EntryOptions = {}): this {
    return this.#add({ name: path, typeflag: "1", linkname: target }, o);
  }

  /** An OCI whiteout for `path`: an empty file `<dir>/.wh.<base>`. */
  whiteout(path: string, o: EntryOptions = {}): this {
    const i = path.lastIndexOf("/");
    const name = i < 0 ? `.wh.${path}` : `${path.slice(0, i)}/.wh.${path.slice(i + 1)}`;
    return this.#add({ name, typeflag: "0" }, { mode: 0o600, ...o });
  }

  /** The opaque marker `<dir>/.wh..wh..opq`. */
  opaque(dir: string, o: EntryOptions = {}): this {
    const d = dir.replace(/\/+$/, "");
    return this.#add({ name: d === "" ? ".wh..wh..opq" : `${d}/.wh..wh..opq`, typeflag: "0" }, { mode: 0o600, ...o });
  }

  /** A character device (or block device with o.block). */
  device(path: string, major: number, minor: number, o: EntryOptions & { block?: boolean } = {}): this {
    return this.#add({ name: path, typeflag: o.block === true ? "4" : "3", devmajor: major, devminor: minor }, o);
  }

  fifo(path: string, o: EntryOptions = {}): this {
    return this.#add({ name: path, typeflag: "6" }, o);
  }

  /** Any header (missing fields take defaults; size defaults to the body length), or literal bytes. */
  raw(header: (Partial<RawHeader> & { name: string }) | Buffer, body: Uint8Array = new Uint8Array(0)): this {
    if (Buffer.isBuffer(header)) {
      this.#chunks.push(header, Buffer.from(body));
      return this;
    }
    const full = { typeflag: "0", ...header };
    return this.#add(full, {}, Buffer.from(body));
  }

  /** The archive with its two zero end blocks. */
  build(): Buffer {
    return Buffer.concat([...this.#chunks, Buffer.alloc(1024)]);
  }

  /** The archive cut off `dropBytes` before the end of the last member's data (no end blocks). */
  buildTruncated(dropBytes = 100): Buffer {
    const all = Buffer.concat(this.#chunks);
    let end = all.length;
    const last = this.#chunks[this.#chunks.length - 1];
    if (last !== undefined && last.every((b) => b === 0)) end -= last.length; // drop trailing padding first
    return all.subarray(0, Math.max(0, end - dropBytes));
  }
}
