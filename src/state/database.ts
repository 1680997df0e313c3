/**
 * berth's index of everything: one SQLite file (`<root>/berth.db`) in WAL mode,
 * opened by every berth process at once (DESIGN.md). Blobs and unpacked layers
 * live on disk; this file records which of them are referenced by what.
 *
 * Transactions are synchronous (node:sqlite is): do all I/O first, then record
 * the result in one `transaction(() => ...)` with no await inside. Writers take
 * the lock up front (BEGIN IMMEDIATE) and wait up to `busyTimeoutMs` for
 * another process to finish.
 *
 * Migrations are an ordered list of SQL scripts; `user_version` records how
 * many have run. Append, never edit, a migration that has shipped.
 */
import { DatabaseSync } from "node:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { systemError } from "../core/index.ts";

const migrations: readonly string[] = [
  `CREATE TABLE images (
     id TEXT PRIMARY KEY,              -- image ID: config digest
     target TEXT NOT NULL,             -- manifest descriptor (JSON)
     stored_at TEXT NOT NULL,
     last_tag_time TEXT
   );
   CREATE TABLE tags (
     name TEXT PRIMARY KEY,            -- normalised repo:tag
     image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
   );
   CREATE INDEX tags_image ON tags(image_id);
   CREATE TABLE repo_digests (
     name TEXT PRIMARY KEY,            -- normalised repo@sha256:...
     image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
   );
   CREATE INDEX repo_digests_image ON repo_digests(image_id);
   CREATE TABLE containers (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     image_id TEXT NOT NULL,           -- not a foreign key: rmi -f may remove an image in use, as docker does
     config TEXT NOT NULL,             -- immutable create-time config (JSON)
     state TEXT NOT NULL,              -- mutable runtime state (JSON)
     created TEXT NOT NULL
   );
   CREATE INDEX containers_image ON containers(image_id);
   CREATE TABLE layers (
     diff_id TEXT PRIMARY KEY,         -- uncompressed layer digest
     size INTEGER NOT NULL             -- uncompressed bytes (Docker's layer Size)
   );
   CREATE TABLE leases (
     id TEXT PRIMARY KEY,              -- an operation in progress: GC keeps blobs newer than its start
     created TEXT NOT NULL,
     expires TEXT NOT NULL
   );
   CREATE TABLE build_cache (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL,
     size INTEGER NOT NULL DEFAULT 0,
     last_used TEXT NOT NULL
   );`,
  // 2: named volumes (src/volumes): labels and driver options as JSON objects.
  `CREATE TABLE volumes (
     name TEXT PRIMARY KEY,
     driver TEXT NOT NULL,
     labels TEXT NOT NULL,
     options TEXT NOT NULL,
     created TEXT NOT NULL
   );`,
  // 3: what `images` shows of each image, derived once from its (immutable) config
  //    so that listing never reads blobs: {created, labels, layers: [{diffId, size}]}.
  `ALTER TABLE images ADD COLUMN meta TEXT;`,
];

export interface DatabaseOptions {
  readonly path: string;
  readonly busyTimeoutMs?: number;
}

export class Database {
  readonly db: DatabaseSync;
  #depth = 0;

  private constructor(db: DatabaseSync) {
    this.db = db;
  }

  /** Opens (creating if needed) and migrates the database. @throws system */
  static open(o: DatabaseOptions): Database {
    try {
      mkdirSync(dirname(o.path), { recursive: true });
      const db = new DatabaseSync(o.path);
      db.exec(`PRAGMA busy_timeout = ${o.busyTimeoutMs ?? 10000}`);
      db.exec("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA synchronous = NORMAL");
      db.exec("PRAGMA foreign_keys = ON");
      const self = new Database(db);
      self.#migrate();
      return self;
    } catch (cause) {
      throw systemError(`cannot open the state database ${o.path}: ${(cause as Error).message}`, { cause });
    }
  }

  #migrate(): void {
    const row = this.db.prepare("PRAGMA user_version").get() as { user_version: number };
    if (row.user_version >= migrations.length) return;
    this.transaction(() => {
      const again = this.db.prepare("PRAGMA user_version").get() as { user_version: number };
      for (let v = again.user_version; v < migrations.length; v++) {
        this.db.exec(migrations[v]!);
      }
      this.db.exec(`PRAGMA user_version = ${migrations.length}`);
    });
  }

  /** Runs `fn` in one write transaction (nested calls join the outer one). */
  transaction<T>(fn: () => T): T {
    if (this.#depth > 0) {
      this.#depth++;
      try {
        return fn();
      } finally {
        this.#depth--;
      }
    }
    this.db.exec("BEGIN IMMEDIATE");
    this.#depth = 1;
    try {
      const result = fn();
      this.db.exec("COMMIT");
      return result;
    } catch (err) {
      this.db.exec("ROLLBACK");
      throw err;
    } finally {
      this.#depth = 0;
    }
  }

  close(): void {
    this.db.close();
  }
}
