/**
 * Runs a fixture service as a real child process: bundles it (with the runtime from source) into a
 * temporary file with esbuild, spawns node on it and waits for its "listening on <url>" line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { OPTIONAL_NATIVE_PACKAGES, serviceBundleEntries } from '../src/bundling';

export interface ChildService {
  child: ChildProcess;
  url: string;
  /** Everything the child wrote to stdout so far. */
  output(): string;
  /** Resolves when stdout contains `text`. */
  waitForOutput(text: string, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  /** Kills the child if still running and removes the bundle. */
  dispose(): void;
}

export async function startChildService(fixture: string, env: Record<string, string> = {}): Promise<ChildService> {
  const dir = mkdtempSync(join(tmpdir(), 'turbolift-runtime-fixture-'));
  const bundle = join(dir, 'main.js');
  // As the plugin's bundle: main.js plus the files the worker pool starts its threads from.
  buildSync({
    entryPoints: { main: fixture, ...serviceBundleEntries() },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outdir: dir,
    external: [...OPTIONAL_NATIVE_PACKAGES],
    logLevel: 'error',
  });
  const child = spawn(process.execPath, [bundle], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', TURBOLIFT_MODE: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const listener of listeners) listener();
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));

  const waitForOutput = (text: string, timeoutMs = 20_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!stdout.includes(text)) return;
        listeners.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`child did not print "${text}" within ${timeoutMs} ms; stdout: ${stdout} stderr: ${stderr}`));
      }, timeoutMs);
      listeners.add(check);
      void exited.then(() => {
        if (listeners.has(check)) {
          listeners.delete(check);
          clearTimeout(timer);
          reject(new Error(`child exited before printing "${text}"; stdout: ${stdout} stderr: ${stderr}`));
        }
      });
      check();
    });

  const dispose = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForOutput('listening on ');
  } catch (error) {
    dispose();
    throw error;
  }
  const url = /listening on (http:\/\/\S+)/.exec(stdout)![1];
  return { child, url, output: () => stdout, waitForOutput, exited, dispose };
}
