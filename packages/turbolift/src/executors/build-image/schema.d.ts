/** Options as written in project.json / inferred by the plugin (see schema.json). */
export interface BuildImageExecutorOptions {
  registry?: string;
  repository?: string;
  push?: boolean;
  baseImage?: string;
  tags?: string[];
  keep?: number;
  dockerfile?: string;
  labels?: Record<string, string>;
  bundleDir?: string;
  port?: number;
  /** Ship the bundle's source maps in the image (default false). */
  sourceMaps?: boolean;
}
