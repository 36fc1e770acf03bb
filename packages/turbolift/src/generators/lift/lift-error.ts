import { TurboliftError } from '../../errors';

/** A user-facing refusal or mistake: printed as one line, `file:line:col reason`, without a stack. */
export class LiftError extends TurboliftError<'TL_LIFT_REFUSED'> {
  override name = 'LiftError';
  constructor(
    readonly reason: string,
    readonly location?: { file: string; line: number; column: number },
  ) {
    super('TL_LIFT_REFUSED', location ? `${location.file}:${location.line}:${location.column} ${reason}` : reason);
    // A user error, not a crash: the one line above says everything.
    this.stack = `${this.name}: ${this.message}`;
  }
}

/** Several refusals at once (`--all`), one line each. */
export function combineErrors(errors: LiftError[]): LiftError {
  if (errors.length === 1) return errors[0];
  return new LiftError(`${errors.length} functions cannot be lifted:\n${errors.map((e) => `  ${e.message}`).join('\n')}`);
}
