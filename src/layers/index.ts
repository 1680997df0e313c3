/**
 * layers/: layer tars. Apply a tar into one overlay lower directory, diff an overlay upper
 * directory back into a tar, pack directories deterministically, and (de)compress.
 *
 * Data flow for a pulled layer:   blob → decompress → [DigestingStream → diffID] → applyLayer(dest)
 * Data flow for a commit/build:   upper dir → diffDirectory → [diffID] → compress → [blob digest] → content store
 *
 * Whiteouts: OCI `.wh.<name>` / `.wh..wh..opq` on the wire; overlayfs char 0/0 devices and
 * `trusted.overlay.opaque=y` on disk (OCI image-spec layer.md; moby archive_linux.go).
 */
export { applyLayer, type ApplyLayerOptions, type ApplyLayerResult } from "./apply.ts";
export { compress, decompress, sniffCompression, DEFAULT_GZIP_LEVEL, DEFAULT_ZSTD_LEVEL, type LayerCompression } from "./compression.ts";
export { DigestingStream } from "./digesting-stream.ts";
export { diffDirectory, packDirectory, type PackDirectoryOptions, type PackOptions } from "./pack.ts";
export { memberComponents, whiteoutOf, OPAQUE_WHITEOUT, WHITEOUT_PREFIX, type WhiteoutKind } from "./member-paths.ts";
