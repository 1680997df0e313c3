/** The ImageStore over berth's SQLite database (contract in image-store.ts). */
import type { Descriptor, Digest } from "../core/index.ts";
import { notFound } from "../core/index.ts";
import type { Database } from "../state/index.ts";
import type { ImageRecord, ImageStore } from "./image-store.ts";

interface Row {
  id: string;
  target: string;
  stored_at: string;
  last_tag_time: string | null;
}

function toRecord(r: Row): ImageRecord {
  const base = { id: r.id as Digest, target: JSON.parse(r.target) as Descriptor, storedAt: r.stored_at };
  return r.last_tag_time === null ? base : { ...base, lastTagTime: r.last_tag_time };
}

export class SqliteImageStore implements ImageStore {
  readonly #db: Database;
  readonly #now: () => Date;

  constructor(o: { db: Database; now?: () => Date }) {
    this.#db = o.db;
    this.#now = o.now ?? (() => new Date());
  }

  find(id: Digest): ImageRecord | undefined {
    const r = this.#db.db.prepare("SELECT * FROM images WHERE id = ?").get(id) as Row | undefined;
    return r === undefined ? undefined : toRecord(r);
  }

  get(id: Digest): ImageRecord {
    const r = this.find(id);
    if (r === undefined) throw notFound(`No such image: ${id}`);
    return r;
  }

  list(): ImageRecord[] {
    return (this.#db.db.prepare("SELECT * FROM images ORDER BY stored_at, id").all() as unknown as Row[]).map(toRecord);
  }

  put(record: { id: Digest; target: Descriptor }): ImageRecord {
    return this.#db.transaction(() => {
      const existing = this.find(record.id);
      if (existing !== undefined) {
        if (existing.target.digest !== record.target.digest) {
          this.#db.db.prepare("UPDATE images SET target = ? WHERE id = ?").run(JSON.stringify(record.target), record.id);
          return { ...existing, target: record.target };
        }
        return existing;
      }
      const storedAt = this.#now().toISOString();
      this.#db.db
        .prepare("INSERT INTO images (id, target, stored_at) VALUES (?, ?, ?)")
        .run(record.id, JSON.stringify(record.target), storedAt);
      return { id: record.id, target: record.target, storedAt };
    });
  }

  delete(id: Digest): void {
    this.#db.db.prepare("DELETE FROM images WHERE id = ?").run(id);
  }

  tag(name: string, id: Digest): Digest | undefined {
    return this.#db.transaction(() => {
      this.get(id);
      const before = this.resolveTag(name);
      this.#db.db
        .prepare("INSERT INTO tags (name, image_id) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id")
        .run(name, id);
      if (before !== id) {
        this.#db.db.prepare("UPDATE images SET last_tag_time = ? WHERE id = ?").run(this.#now().toISOString(), id);
      }
      return before !== undefined && before !== id ? before : undefined;
    });
  }

  untag(name: string): boolean {
    return Number(this.#db.db.prepare("DELETE FROM tags WHERE name = ?").run(name).changes) > 0;
  }

  resolveTag(name: string): Digest | undefined {
    const r = this.#db.db.prepare("SELECT image_id FROM tags WHERE name = ?").get(name) as { image_id: string } | undefined;
    return r?.image_id as Digest | undefined;
  }

  tagsOf(id: Digest): string[] {
    const rows = this.#db.db.prepare("SELECT name FROM tags WHERE image_id = ? ORDER BY name").all(id) as { name: string }[];
    return rows.map((r) => r.name);
  }

  allTags(): { name: string; id: Digest }[] {
    const rows = this.#db.db.prepare("SELECT name, image_id FROM tags ORDER BY name").all() as { name: string; image_id: string }[];
    return rows.map((r) => ({ name: r.name, id: r.image_id as Digest }));
  }

  addRepoDigest(name: string, id: Digest): void {
    this.#db.db
      .prepare("INSERT INTO repo_digests (name, image_id) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id")
      .run(name, id);
  }

  repoDigestsOf(id: Digest): string[] {
    const rows = this.#db.db.prepare("SELECT name FROM repo_digests WHERE image_id = ? ORDER BY name").all(id) as { name: string }[];
    return rows.map((r) => r.name);
  }

  resolveRepoDigest(name: string): Digest | undefined {
    const r = this.#db.db.prepare("SELECT image_id FROM repo_digests WHERE name = ?").get(name) as { image_id: string } | undefined;
    return r?.image_id as Digest | undefined;
  }
}
