import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

export interface RunOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
  /** Expect a non-zero exit instead of failing the test on one. */
  expectFailure?: boolean;
  timeoutMs?: number;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, for assertions on what a user sees. */
  output: string;
}

/** Environment for every child: no Nx daemon, no TUI, no cloud, so output is plain and runs are independent. */
export function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NX_DAEMON: 'false',
    NX_TUI: 'false',
    NX_NO_CLOUD: 'true',
    NX_SKIP_NX_CACHE: undefined,
    NX_VERBOSE_LOGGING: undefined,
    // Plain text for assertions: colour libraries treat any FORCE_COLOR (even 0) as a request for colour.
    FORCE_COLOR: undefined,
    NO_COLOR: '1',
    CI: 'true',
    ...extra,
  };
}

/** Runs a command to completion; a failure (or an unexpected success) throws with the command's whole output. */
export function run(command: string, args: string[], options: RunOptions): RunResult {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    env: childEnv(options.env),
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 10 * 60 * 1000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const stdout = result.stdout ?? '';
  const stderr = result.stderr ?? '';
  const code = result.status ?? -1;
  const outcome: RunResult = { code, stdout, stderr, output: `${stdout}\n${stderr}` };
  const failed = code !== 0;
  if (failed !== Boolean(options.expectFailure)) {
    const expectation = options.expectFailure ? 'to fail' : 'to succeed';
    throw new Error(
      `expected \`${command} ${args.join(' ')}\` in ${options.cwd} ${expectation}, exit ${code}` +
        (result.error ? ` (${result.error.message})` : '') +
        `\n--- stdout ---\n${stdout.slice(-8000)}\n--- stderr ---\n${stderr.slice(-8000)}`,
    );
  }
  return outcome;
}

/** `npx nx …` inside a workspace. */
export function nx(workspace: string, args: string[], options: Omit<RunOptions, 'cwd'> = {}): RunResult {
  return run('npx', ['nx', ...args], { ...options, cwd: workspace });
}

export interface Background {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Starts a long-running command in its own process group so stop() ends it and everything it spawned. */
export function startBackground(command: string, args: string[], options: RunOptions): Background {
  const child = spawn(command, args, { cwd: options.cwd, env: childEnv(options.env), detached: true });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        return;
      }
      const stopped = await Promise.race([exited.then(() => true), delay(20_000).then(() => false)]);
      if (!stopped) {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* already gone */
        }
        await exited;
      }
    },
  };
}

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until check() returns a value, bounded by a deadline; the error says what was awaited. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      lastError = error;
    }
    await delay(250);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}
