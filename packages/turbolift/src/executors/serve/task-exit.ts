/**
 * How a failed serve ends the Nx task process it runs in. Nx learns a task's outcome from its process's exit
 * code alone, and for a continuous target the Nx versions in the peer range read that code differently:
 *
 * - Nx 22 reports any exit of a continuous task that it did not stop as a failure (`exit code 1`, nx exits 1).
 * - Nx 23 (23.3.1 and 23.3.2 read so) takes an exit that no remaining task waits for as the task being done:
 *   when the serve is the target asked for (`nx run svc:serve`, `nx run-many -t serve`), an exit 1 ends in
 *   "Successfully ran" and nx exits 0.
 * - Nx 21 prints "Successfully ran" after an exit 1 (and exits 130, as for every run ending in a continuous task).
 *
 * What all three treat as a task that did not finish is the exit code of a termination signal: Nx 22 and 23
 * mark the task stopped ("did not complete") and exit 130; Nx 21 exits with that code at once, without the
 * success line. So on any Nx other than 22 a failed serve exits 130 itself, once its one-line reason is out;
 * on Nx 22 the exit Nx gives the failed result (1, reported as a failure) is the clearer one and is kept.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';

/** 128 + SIGINT: the code Nx itself exits with when a run did not complete. */
export const STOPPED_TASK_EXIT_CODE = 130;

/**
 * Ends this process with `STOPPED_TASK_EXIT_CODE` when it is the Nx task process of this very target and the
 * workspace's Nx would otherwise not report the failure. Anywhere else (an executor calling serve in its own
 * process, a test) the failed result is all there is and the process is left alone.
 */
export async function endFailedServeTask(context: ExecutorContext): Promise<void> {
  if (!isTaskProcessOf(context)) return;
  const code = failedServeExitCode(installedNxVersion(context.root));
  if (code === undefined) return;
  // process.exit does not wait for a pipe to take what was written: the reason line must reach Nx first.
  await Promise.all([drain(process.stdout), drain(process.stderr)]);
  process.exit(code);
}

/** The exit code a failed serve needs under Nx `version`, or undefined where Nx's own exit 1 is reported as a failure. */
export function failedServeExitCode(version: string | undefined): number | undefined {
  const major = Number(/^(\d+)\./.exec(version ?? '')?.[1]);
  return major === 22 ? undefined : STOPPED_TASK_EXIT_CODE;
}

/** Nx runs each task in a process whose environment names the task's project and target. */
function isTaskProcessOf(context: ExecutorContext): boolean {
  return (
    context.projectName !== undefined &&
    context.targetName !== undefined &&
    process.env.NX_TASK_TARGET_PROJECT === context.projectName &&
    process.env.NX_TASK_TARGET_TARGET === context.targetName
  );
}

/** The version of the `nx` package the workspace resolves (the one running its tasks), if it can be read. */
function installedNxVersion(workspaceRoot: string): string | undefined {
  try {
    return (createRequire(join(workspaceRoot, 'package.json'))('nx/package.json') as { version?: string }).version;
  } catch {
    return undefined;
  }
}

function drain(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => (stream.writableEnded ? resolve() : stream.write('', () => resolve())));
}
