import { buildSync } from 'esbuild';
import { join } from 'node:path';
import { workspaceScope } from './workspace';
import { run, type RunResult } from './run';

/**
 * Bundles an app's entry the way a user's own build would (workspace libraries from source through the
 * workspace's custom export condition), leaving the runtime as a real package import.
 */
export function bundleApp(workspace: string, entry: string, name: string): string {
  const outfile = join(workspace, 'dist', 'e2e-apps', `${name}.mjs`);
  buildSync({
    entryPoints: [join(workspace, entry)],
    absWorkingDir: workspace,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: [`${workspaceScope}/source`],
    external: ['@turbolift/runtime'],
    outfile,
    logLevel: 'error',
  });
  return outfile;
}

export type Mode = 'local' | 'distributed';

/** Runs a bundled app in one mode and returns the line it prints after `RESULT `. */
export function runApp(workspace: string, bundle: string, mode: Mode, env: Record<string, string> = {}): { result: string; run: RunResult } {
  const outcome = run('node', [bundle], { cwd: workspace, env: { TURBOLIFT_MODE: mode, ...env } });
  const line = outcome.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`the app printed no RESULT line in ${mode} mode:\n${outcome.output}`);
  return { result: line.slice('RESULT '.length), run: outcome };
}
