/**
 * Architecture test: the dependency rule of STYLE.md part 2 (a), checked on
 * the import specifiers of every file under src/ (ggcr's depcheck_test.go).
 * A unit test: no root, no network; it only reads files.
 *
 * What it parses (with TypeScript's own parser, so comments and strings
 * never count): `import … from "x"`, `import "x"`, `export … from "x"`,
 * `import type …`, dynamic `import("x")` with a string literal, type-level
 * `import("x").T`, and the lazy verb table of src/cli/registry.ts
 * (`load("./container/run.ts")`, an `import(path)` that the parser cannot see).
 *
 * What it enforces:
 * 1. Ranks. Every top-level directory of src/ is a module with a rank
 *    (RANKS below). An import from module A to module B (A ≠ B) is allowed
 *    only if rank(B) < rank(A): imports point downwards. The tiers are
 *    foundations < capabilities < engine < cli < bin; inside a tier the
 *    numbers follow STYLE.md's R0–R4 so that, e.g., images cannot import
 *    runtime. Two modules of the same rank may not import each other: raise
 *    one of them instead, with a comment saying why (as build is).
 *    Type-only imports count: they are dependencies of the design even when
 *    they load nothing.
 * 2. testing/. Files under a `testing/` directory (src/testing/**, and
 *    module-private helpers such as src/snapshots/testing/**) may be imported
 *    only by tests (*.test.ts), by other testing/ files, and by test/** and
 *    bench/** (which are outside src/ and not checked here). testing/ files
 *    may import any module below cli. No file imports a *.test.ts file.
 * 3. cli/ and bin/. Nothing imports cli/ or bin/ except cli/ and bin/
 *    (the ranks say this too; the message names the rule).
 * 4. src/ is self-contained: a relative import never leaves src/, and a bare
 *    specifier is a `node:` built-in or a package in package.json
 *    "dependencies" (a devDependency only for `import type`), because
 *    `berth` runs from this tree with production dependencies only.
 * 5. No cycles in the module-level graph built from non-test files (tests are
 *    leaves: nothing imports them). With rule 1 a cycle needs testing/ or a
 *    known exception; any cycle found is listed.
 *
 * Barrels. STYLE.md (f) says imports across modules go through each
 * module's index.ts. berth deliberately does not require that: a file imports
 * the specific file it needs ("../oci/reference.ts", "../runtime/spec.ts"),
 * and index.ts barrels exist for callers that want a module's whole surface.
 * Reason: start-up time. berth is a daemonless CLI, so every command pays to
 * load (and, cold, type-strip) each module it touches, and ESM evaluates every
 * file a barrel re-exports. Measured here: importing src/runtime/index.ts
 * loads 11 of berth's files where src/runtime/spec.ts loads 5;
 * src/layers/index.ts loads 9 where src/layers/compression.ts loads 2.
 * The rank rules are what this test enforces; file-level imports are allowed
 * across modules as long as they respect them (README.md, "Decisions").
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { builtinModules } from "node:module";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SRC = join(REPO, "src");

type Tier = "foundation" | "capability" | "engine" | "cli" | "bin";

/**
 * The rank table. Lower numbers are lower in the stack. A new top-level
 * directory under src/ must be added here (the test fails until it is).
 */
const RANKS: Record<string, { readonly tier: Tier; readonly rank: number }> = {
  // Foundations. core and oci are the shared vocabulary; oci uses core.
  core: { tier: "foundation", rank: 0 },
  oci: { tier: "foundation", rank: 1 },
  state: { tier: "foundation", rank: 2 }, // SQLite (STYLE R1)
  content: { tier: "foundation", rank: 3 }, // STYLE R2: may use state
  layers: { tier: "foundation", rank: 3 },
  snapshots: { tier: "foundation", rank: 3 },
  // Capabilities.
  images: { tier: "capability", rank: 4 }, // STYLE R3
  registry: { tier: "capability", rank: 4 },
  archive: { tier: "capability", rank: 4 }, // save/load: content + layers, like images
  bootstrap: { tier: "capability", rank: 4 },
  runtime: { tier: "capability", rank: 5 }, // STYLE R4
  network: { tier: "capability", rank: 5 },
  volumes: { tier: "capability", rank: 5 },
  // STYLE R4 puts build beside runtime and network with an Executor interface
  // that engine/ implements. berth's builder runs RUN steps itself
  // (build/executor.ts: runtime/spec.ts's prepareSpec, runc, a CNI network
  // from network/), so build sits one rank above them.
  build: { tier: "capability", rank: 6 },
  engine: { tier: "engine", rank: 7 },
  cli: { tier: "cli", rank: 8 },
  bin: { tier: "bin", rank: 9 },
};
/** testing/ has no rank: see rule 2. */
const TESTING = "testing";

const TIER_ORDER: readonly Tier[] = ["foundation", "capability", "engine", "cli", "bin"];

/**
 * Imports that break a rule today and are accepted, each with the reason.
 * Keyed "<importing file> -> <imported file>" (paths relative to src/).
 * An entry that no longer matches an import fails the test, so the list
 * only shrinks. Keep it short: fix instead where the fix is small.
 */
const KNOWN_EXCEPTIONS: ReadonlyMap<string, string> = new Map<string, string>([
  // (none)
]);

export interface ImportRef {
  readonly specifier: string;
  /** 1-based line of the specifier. */
  readonly line: number;
  readonly kind: "static" | "export" | "dynamic" | "type-query" | "cli-load";
  /** The import brings in types only (`import type`, `export type`, `import("x").T`). */
  readonly typeOnly: boolean;
}

/** Every import specifier in `source` (TypeScript or JavaScript). */
export function parseImports(fileName: string, source: string): ImportRef[] {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true);
  const out: ImportRef[] = [];
  const lineOf = (n: ts.Node): number => sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
  const cliRegistry = fileName.replaceAll("\\", "/").endsWith("src/cli/registry.ts");
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const c = node.importClause;
      const typeOnly =
        c !== undefined &&
        (c.isTypeOnly ||
          (c.name === undefined &&
            c.namedBindings !== undefined &&
            ts.isNamedImports(c.namedBindings) &&
            c.namedBindings.elements.length > 0 &&
            c.namedBindings.elements.every((e) => e.isTypeOnly)));
      out.push({ specifier: node.moduleSpecifier.text, line: lineOf(node.moduleSpecifier), kind: "static", typeOnly });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
      const typeOnly =
        node.isTypeOnly ||
        (node.exportClause !== undefined &&
          ts.isNamedExports(node.exportClause) &&
          node.exportClause.elements.length > 0 &&
          node.exportClause.elements.every((e) => e.isTypeOnly));
      out.push({ specifier: node.moduleSpecifier.text, line: lineOf(node.moduleSpecifier), kind: "export", typeOnly });
    } else if (ts.isCallExpression(node)) {
      const arg = node.arguments[0];
      if (node.expression.kind === ts.SyntaxKind.ImportKeyword && arg !== undefined && ts.isStringLiteralLike(arg)) {
        out.push({ specifier: arg.text, line: lineOf(arg), kind: "dynamic", typeOnly: false });
      } else if (
        cliRegistry &&
        ts.isIdentifier(node.expression) &&
        node.expression.text === "load" &&
        arg !== undefined &&
        ts.isStringLiteralLike(arg)
      ) {
        out.push({ specifier: arg.text, line: lineOf(arg), kind: "cli-load", typeOnly: false });
      }
    } else if (ts.isImportTypeNode(node)) {
      const a = node.argument;
      if (ts.isLiteralTypeNode(a) && ts.isStringLiteral(a.literal)) {
        out.push({ specifier: a.literal.text, line: lineOf(a.literal), kind: "type-query", typeOnly: true });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

function listSources(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { recursive: true, encoding: "utf8" })) {
    if (!/\.(ts|mts|mjs|js)$/.test(entry) || entry.endsWith(".d.ts")) continue;
    if (entry.split(sep).includes("node_modules")) continue;
    const abs = join(dir, entry);
    if (statSync(abs).isFile()) files.push(abs);
  }
  return files.sort();
}

/** "src/x/y.ts" → "x" (the top-level module), or undefined outside src/. */
function moduleOf(abs: string): string | undefined {
  const rel = relative(SRC, abs);
  if (rel.startsWith("..") || rel === "") return undefined;
  return rel.split(sep)[0];
}
const isTestFile = (abs: string): boolean => /\.test\.(ts|mts|mjs|js)$/.test(abs);
const isTestingFile = (abs: string): boolean => relative(SRC, abs).split(sep).slice(0, -1).includes(TESTING);
const srcRel = (abs: string): string => relative(SRC, abs).split(sep).join("/");
const describe = (m: string): string => {
  const r = RANKS[m];
  return r === undefined ? m : `${m} (${r.tier}, rank ${r.rank})`;
};

interface Edge {
  readonly from: string; // absolute file
  readonly to: string; // absolute file (resolved, may not exist for cli-load checks)
  readonly ref: ImportRef;
}

interface Scan {
  readonly files: string[];
  readonly edges: Edge[];
  readonly bare: { from: string; ref: ImportRef }[];
}

let cached: Scan | undefined;
function scan(): Scan {
  if (cached !== undefined) return cached;
  const files = listSources(SRC);
  const edges: Edge[] = [];
  const bare: { from: string; ref: ImportRef }[] = [];
  for (const f of files) {
    for (const ref of parseImports(f, readFileSync(f, "utf8"))) {
      if (ref.specifier.startsWith(".") || ref.specifier.startsWith("/")) {
        edges.push({ from: f, to: resolve(dirname(f), ref.specifier), ref });
      } else {
        bare.push({ from: f, ref });
      }
    }
  }
  cached = { files, edges, bare };
  return cached;
}

const where = (e: { from: string; ref: ImportRef }): string =>
  `src/${srcRel(e.from)}:${e.ref.line} imports "${e.ref.specifier}"${e.ref.typeOnly ? " (types only)" : ""}`;

/** The rule an edge breaks, or undefined. */
function violation(e: Edge): string | undefined {
  const a = moduleOf(e.from);
  const b = moduleOf(e.to);
  if (a === undefined) return undefined;
  if (b === undefined) return "src/ is self-contained: a relative import must not leave src/";
  if (isTestFile(e.to)) return "nothing imports a *.test.ts file";
  const fromTest = isTestFile(e.from);
  const fromTesting = a === TESTING || isTestingFile(e.from);
  if ((b === TESTING || isTestingFile(e.to)) && !fromTest && !fromTesting) {
    return "testing/ may be imported only by tests (*.test.ts, test/**, bench/**) and other testing/ files";
  }
  if (a === b) return undefined;
  if ((b === "cli" || b === "bin") && a !== "cli" && a !== "bin") {
    return `nothing imports ${b}/ except cli/ and bin/`;
  }
  if (a === TESTING || b === TESTING) return undefined; // testing/ has no rank; the rules above cover it
  const ra = RANKS[a];
  const rb = RANKS[b];
  if (ra === undefined || rb === undefined) return `module ${ra === undefined ? a : b}/ has no rank: add it to RANKS in test/depgraph.test.ts`;
  if (rb.rank >= ra.rank) {
    return `imports point downwards only: ${describe(a)} must not import ${describe(b)}`;
  }
  return undefined;
}

test("parseImports finds every kind of import and nothing in comments or strings", () => {
  const src = [
    `import { a } from "./a.ts";`,
    `import type { B } from "../b/b.ts";`,
    `import { type C, type D } from "./cd.ts";`,
    `import "./side-effect.ts";`,
    `export * from "./e.ts";`,
    `export type { F } from "./f.ts";`,
    `// import { g } from "./comment.ts";`,
    `/* export * from "./block.ts"; */`,
    `const s = 'import { h } from "./string.ts"';`,
    `const t = \`import("./template.ts")\`;`,
    `async function f(): Promise<void> { await import("./dyn.ts"); await import(someVar); }`,
    `let x: import("./typeq.ts").T;`,
    `load("./not-registry.ts");`,
  ].join("\n");
  const got = parseImports("src/x/y.ts", src).map((r) => `${r.kind}:${r.specifier}:${r.typeOnly}:${r.line}`);
  assert.deepEqual(got, [
    "static:./a.ts:false:1",
    "static:../b/b.ts:true:2",
    "static:./cd.ts:true:3",
    "static:./side-effect.ts:false:4",
    "export:./e.ts:false:5",
    "export:./f.ts:true:6",
    "dynamic:./dyn.ts:false:11",
    "type-query:./typeq.ts:true:12",
  ]);
  const reg = parseImports("/r/src/cli/registry.ts", `const v = { run: load("./container/run.ts") };`);
  assert.deepEqual(reg.map((r) => `${r.kind}:${r.specifier}`), ["cli-load:./container/run.ts"]);
});

test("the rule checker rejects upward, testing/ and cli/ imports (self-check)", () => {
  const ref: ImportRef = { specifier: "x", line: 1, kind: "static", typeOnly: false };
  const e = (from: string, to: string): Edge => ({ from: join(SRC, from), to: join(SRC, to), ref });
  assert.match(violation(e("core/errors.ts", "engine/engine.ts")) ?? "", /downwards/);
  assert.match(violation(e("images/image-store.ts", "registry/pull.ts")) ?? "", /downwards/, "same rank is not allowed");
  assert.match(violation(e("engine/engine.ts", "cli/main.ts")) ?? "", /cli\//);
  assert.match(violation(e("testing/fake.ts", "cli/main.ts")) ?? "", /cli\//);
  assert.match(violation(e("engine/engine.ts", "testing/tar-builder.ts")) ?? "", /testing\//);
  assert.match(violation(e("engine/engine.ts", "snapshots/testing/simple-apply.ts")) ?? "", /testing\//);
  assert.match(violation(e("core/x.ts", "../test/integration/x.ts")) ?? "", /self-contained/);
  assert.match(violation(e("newmod/x.ts", "core/errors.ts")) ?? "", /no rank/);
  assert.equal(violation(e("engine/engine.ts", "core/errors.ts")), undefined);
  assert.equal(violation(e("engine/x.test.ts", "testing/tar-builder.ts")), undefined);
  assert.equal(violation(e("testing/memory-content-store.ts", "content/content-store.ts")), undefined);
  assert.equal(violation(e("bin/berth.ts", "cli/main.ts")), undefined);
});

test("the rank table is consistent with the tier order", () => {
  const mods = Object.entries(RANKS);
  for (const [a, ra] of mods) {
    for (const [b, rb] of mods) {
      if (TIER_ORDER.indexOf(ra.tier) < TIER_ORDER.indexOf(rb.tier)) {
        assert.ok(ra.rank < rb.rank, `${describe(a)} is in a lower tier than ${describe(b)} but not of lower rank`);
      }
    }
  }
  const dirs = readdirSync(SRC, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  const unranked = dirs.filter((d) => d !== TESTING && RANKS[d] === undefined);
  assert.deepEqual(unranked, [], `top-level modules without a rank (add them to RANKS): ${unranked.join(", ")}`);
});

test("imports under src/ follow the dependency rule", (t) => {
  const { files, edges } = scan();
  assert.ok(files.length > 100, `expected berth's sources under ${SRC}, found ${files.length} files`);
  assert.ok(edges.length > files.length, "the parser found too few imports: is it broken?");

  const broken: string[] = [];
  const excused = new Set<string>();
  for (const e of edges) {
    const why = violation(e);
    if (why === undefined) continue;
    const key = `${srcRel(e.from)} -> ${srcRel(e.to)}`;
    if (KNOWN_EXCEPTIONS.has(key)) {
      excused.add(key);
      t.diagnostic(`known exception: ${where(e)}: ${why} (accepted: ${KNOWN_EXCEPTIONS.get(key)})`);
      continue;
    }
    broken.push(`  ${where(e)}\n    → ${why}`);
  }
  const stale = [...KNOWN_EXCEPTIONS.keys()].filter((k) => !excused.has(k));
  assert.deepEqual(stale, [], "KNOWN_EXCEPTIONS entries that match no import any more (remove them)");
  assert.equal(broken.length, 0, `${broken.length} import(s) break the dependency rule (STYLE.md part 2 (a)):\n${broken.join("\n")}\n`);
});

test("lazy verbs in src/cli/registry.ts name files that exist inside cli/", () => {
  const { edges } = scan();
  const loads = edges.filter((e) => e.ref.kind === "cli-load");
  assert.ok(loads.length > 10, `found ${loads.length} load("…") verbs in src/cli/registry.ts`);
  const bad = loads.filter((e) => !existsSync(e.to) || moduleOf(e.to) !== "cli").map(where);
  assert.deepEqual(bad, []);
});

test("bare imports under src/ are node: built-ins or production dependencies", () => {
  const { bare } = scan();
  const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as {
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  const deps = new Set(Object.keys(pkg.dependencies ?? {}));
  const devDeps = new Set(Object.keys(pkg.devDependencies ?? {}));
  const builtins = new Set(builtinModules);
  const packageName = (s: string): string => (s.startsWith("@") ? s.split("/").slice(0, 2).join("/") : (s.split("/")[0] ?? s));
  const bad: string[] = [];
  for (const b of bare) {
    const s = b.ref.specifier;
    if (s.startsWith("node:")) continue;
    if (builtins.has(s)) {
      bad.push(`${where(b)}: use the "node:${s}" specifier`);
      continue;
    }
    const name = packageName(s);
    if (deps.has(name)) continue;
    // Tests run from a checkout with devDependencies; typescript is one.
    if (devDeps.has(name) && (b.ref.typeOnly || isTestFile(b.from) || isTestingFile(b.from) || moduleOf(b.from) === TESTING)) continue;
    bad.push(`${where(b)}: "${name}" is not in package.json dependencies`);
  }
  assert.deepEqual(bad, []);
});

test("the module graph has no cycles", (t) => {
  const { edges } = scan();
  // Non-test files only: a test is a leaf (nothing imports it), so its imports
  // cannot close a cycle that matters at run time or in the layering.
  const graph = new Map<string, Map<string, number>>();
  for (const e of edges) {
    if (isTestFile(e.from)) continue;
    const a = moduleOf(e.from);
    const b = moduleOf(e.to);
    if (a === undefined || b === undefined || a === b) continue;
    const out = graph.get(a) ?? new Map<string, number>();
    out.set(b, (out.get(b) ?? 0) + 1);
    graph.set(a, out);
  }
  const lines = [...graph.keys()].sort().map((a) => {
    const out = [...(graph.get(a) ?? new Map<string, number>())].sort(([x], [y]) => x.localeCompare(y));
    return `${a} → ${out.map(([b, n]) => `${b}(${n})`).join(" ")}`;
  });
  t.diagnostic(`module graph (non-test files; import counts):\n${lines.join("\n")}`);

  // Tarjan's strongly connected components; any component of size > 1 is a cycle.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const nodes = new Set<string>([...graph.keys(), ...[...graph.values()].flatMap((m) => [...m.keys()])]);
  const strong = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of (graph.get(v) ?? new Map<string, number>()).keys()) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) ?? 0, idx.get(w) ?? 0));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop();
        if (w === undefined) break;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) cycles.push(comp.sort());
    }
  };
  for (const v of [...nodes].sort()) if (!idx.has(v)) strong(v);

  const report = cycles.map((c) => {
    const files = edges
      .filter((e) => !isTestFile(e.from) && c.includes(moduleOf(e.from) ?? "") && c.includes(moduleOf(e.to) ?? "") && moduleOf(e.from) !== moduleOf(e.to))
      .map((e) => `    ${where(e)}`);
    return `  cycle between ${c.join(", ")}:\n${files.join("\n")}`;
  });
  assert.equal(cycles.length, 0, `import cycles between modules:\n${report.join("\n")}\n`);
});
