/** Options as written in project.json / inferred by the plugin (see schema.json). */
export interface BundleExecutorOptions {
  main?: string;
  outputPath?: string;
  external?: string[];
  sourcemap?: boolean;
  minify?: boolean;
}
