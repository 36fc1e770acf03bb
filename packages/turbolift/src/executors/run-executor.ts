/**
 * The frame every executor runs in: it turns a thrown failure into one line on stderr, prefixed with
 * the executor's name, and into `{ success: false, reason }` for Nx. A `TurboliftError` prints its message
 * only; anything else prints its stack under `TURBOLIFT_DEBUG`.
 */
import { describeFailure } from '../errors';

export interface ExecutorFailure {
  success: false;
  /** The one line printed. */
  reason: string;
}

export async function runExecutor<Result extends { success: boolean }>(
  executor: string,
  body: () => Promise<Result>,
  describeForeign?: (error: unknown) => string,
): Promise<Result | ExecutorFailure> {
  try {
    return await body();
  } catch (error) {
    return reportFailure(executor, error, describeForeign);
  }
}

/**
 * The same frame for an executor that is an async generator (a continuous target such as serve): a failure
 * thrown before or between its results is printed as one line and becomes its last result.
 */
export async function* runExecutorGenerator<Result extends { success: boolean }>(
  executor: string,
  body: () => AsyncGenerator<Result>,
  describeForeign?: (error: unknown) => string,
): AsyncGenerator<Result | ExecutorFailure> {
  try {
    yield* body();
  } catch (error) {
    yield reportFailure(executor, error, describeForeign);
  }
}

function reportFailure(executor: string, error: unknown, describeForeign?: (error: unknown) => string): ExecutorFailure {
  const reason = describeFailure(error, describeForeign);
  // Plain stderr, not devkit's logger: the line must read the same in a terminal, in CI and in a captured log.
  console.error(`${executor}: ${reason}`);
  return { success: false, reason };
}
