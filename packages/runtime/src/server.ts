/**
 * `@turbolift/runtime/server`: the HTTP service around one lifted function, for tools and service entries
 * that want the server alone. The main entry exports the same `serve` and `createService`.
 */
export { serve, createService, type RunningService } from './server/serve';
export type { ServeOptions } from './server/options';
export type { ServedFunction } from './server/invoke';
