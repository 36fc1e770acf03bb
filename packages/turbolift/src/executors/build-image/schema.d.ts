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
}
