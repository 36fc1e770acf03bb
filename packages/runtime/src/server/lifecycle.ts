/**
 * The service's readiness and drain state, shared by the routes and the shutdown sequence.
 */
export class Lifecycle {
  /** false while starting and from the moment draining begins. */
  ready = false;
  draining = false;
  /** When the last call arrived during draining (only tracked while draining: the hot path stays free). */
  lastCallAt = 0;
  drainStartedAt = 0;

  startDraining(now = Date.now()): void {
    if (this.draining) return;
    this.draining = true;
    this.ready = false;
    this.drainStartedAt = now;
    this.lastCallAt = now;
  }

  /** Resolves when the drain window is over: `drainMs` after it began, or earlier after `quietMs` without calls. */
  drainWindow(drainMs: number, quietMs: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        const now = Date.now();
        if (now - this.drainStartedAt >= drainMs || now - this.lastCallAt >= quietMs) return resolve();
        const untilEnd = this.drainStartedAt + drainMs - now;
        const untilQuiet = this.lastCallAt + quietMs - now;
        setTimeout(check, Math.max(1, Math.min(untilEnd, untilQuiet)));
      };
      check();
    });
  }
}
