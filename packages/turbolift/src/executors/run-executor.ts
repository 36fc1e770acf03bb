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
    const reason = describeFailure(error, describeForeign);
    // Plain stderr, not devkit's logger: the line must read the same in a terminal, in CI and in a captured log.
    console.error(`${executor}: ${reason}`);
    return { success: false, reason };
  }
}
