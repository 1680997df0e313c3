export { ProgressWriter, formatProgress, type ProgressWriterOptions } from "./progress-writer.ts";
export { progressSink } from "./progress-sink.ts";
