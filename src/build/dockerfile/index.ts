/**
 * Dockerfile front end: parse (bytes → AST), instructions (AST → typed stages),
 * shell (word expansion), stage-env (per-stage variable scope). Pure code; see
 * README.md. Other modules import from here only.
 */
export {
  chompHeredocContent,
  dumpAST,
  locatedError,
  parse,
  parseWords,
  type Directives,
  type Heredoc,
  type Node,
  type ParseOptions,
  type ParseResult,
  type ParseWarning,
  type Position,
  type SourceRange,
} from "./parser.ts";
export {
  envListToMap,
  expandWord,
  expandWords,
  globToRegExpSource,
  processWord,
  type EscapeToken,
  type ProcessWordResult,
  type ShellEnv,
  type ShellOptions,
} from "./shell.ts";
export * from "./instructions.ts";
export { StageEnv, type StageEnvOptions } from "./stage-env.ts";
