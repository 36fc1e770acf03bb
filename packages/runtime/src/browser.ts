/**
 * @turbolift/runtime for browsers: what the `browser` export condition resolves `@turbolift/runtime` to
 * (bundlers for the web; jest's and vitest's jsdom environments). A stub's client API under the same
 * names and types as the Node entry, and nothing else: no server, no HTTP client, no Node built-ins.
 * Local mode runs the function in-process; distributed mode rejects with `TL_DISTRIBUTED_IN_BROWSER`.
 */
export { liftedStub, closeConnections, type LiftedFunction, type LiftedStubOptions } from './client/browser-stub';
export type { MapInputs, MapOptions, MapProgress, MapRun } from './client/map';
export { currentMode, type TurboliftMode } from './mode';
export { RemoteError, TurboliftCallError, type CallErrorCode } from './errors';
