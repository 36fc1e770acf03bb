import { TurboliftError } from '../../errors';
import { formatSyncUse, type SyncUse } from './call-sites';

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

/**
 * Uses of the function that would get a Promise where they expect its value, and no `await` can be added there:
 * lifting anyway leaves code that does not type-check, or computes garbage where nothing checks types.
 */
export class SyncCallersError extends TurboliftError<'TL_SYNC_CALLERS'> {
  override name = 'SyncCallersError';
  /** The uses that cannot await, by the lifted function they use. */
  constructor(readonly uses: Map<string, SyncUse[]>) {
    const names = [...uses.keys()];
    const count = [...uses.values()].reduce((n, list) => n + list.length, 0);
    const lists =
      names.length === 1 ? listSyncUses(uses.get(names[0]) ?? []) : names.map((fn) => `  ${fn}:\n${listSyncUses(uses.get(fn) ?? [], '    ')}`).join('\n');
    super(
      'TL_SYNC_CALLERS',
      `cannot lift ${names.join(', ')} (TL_SYNC_CALLERS): ${names.length === 1 ? 'it' : 'each'} will return a Promise, ` +
        `and ${count} use(s) cannot be made to await it:\n${lists}\n` +
        'Make those callers async (or hand them the awaited value), or rerun with --allowSyncCallers to lift anyway and fix them by hand.',
    );
    this.stack = `${this.name}: ${this.message}`;
  }
}

/** One `path:line:column why` line per use, in file order. */
export function listSyncUses(uses: SyncUse[], indent = '  '): string {
  return [...uses]
    .sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column)
    .map((use) => `${indent}${formatSyncUse(use)}`)
    .join('\n');
}
