/**
 * `turbolift.json`: the marker the lift generator writes into every service project. Its presence is what
 * makes the plugin infer the service's targets; its fields say what the service runs. The generator writes
 * it with `renderServiceMarker` and everything else reads it with `parseServiceMarker*`, so its fields and
 * defaults are spelled here only.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TurboliftError } from '../errors';

export interface ServiceMarker {
  /** The lifted function's name, e.g. `compressAll`: the key of the service in the endpoints file. */
  function: string;
  /** The import path of the lifted library, e.g. `@acme/lifted-compress-all`. */
  library?: string;
  /** The service entry, relative to the project root (default `src/main.ts`). */
  main: string;
  /** The loopback port `serve` listens on with `fixedPort: true` (default 4310); otherwise it takes a free one. */
  port: number;
}

export const MARKER_FILE = 'turbolift.json';
export const MARKER_GLOB = `**/${MARKER_FILE}`;
/** The Nx tag of every service project, so `nx run-many --projects tag:turbolift:service` selects them. */
export const SERVICE_TAG = 'turbolift:service';
export const DEFAULT_SERVICE_MAIN = 'src/main.ts';
export const DEFAULT_SERVICE_PORT = 4310;

export class MarkerError extends TurboliftError<'TL_BAD_MARKER'> {
  override name = 'MarkerError';
  constructor(message: string) {
    super('TL_BAD_MARKER', message);
  }
}

/** Checks the parsed contents of a marker file; `file` names it in the one-line error. */
export function parseServiceMarker(raw: unknown, file: string): ServiceMarker {
  const fail = (message: string): never => {
    throw new MarkerError(`${file}: ${message}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('must hold a JSON object');
  const value = raw as Record<string, unknown>;
  if (typeof value.function !== 'string' || !/^[A-Za-z_$][\w$]*$/.test(value.function)) {
    fail(`"function" must be the lifted function's name, got ${JSON.stringify(value.function)}`);
  }
  if (value.library !== undefined && typeof value.library !== 'string') {
    fail(`"library" must be a string, got ${JSON.stringify(value.library)}`);
  }
  const main = value.main ?? DEFAULT_SERVICE_MAIN;
  if (typeof main !== 'string' || main.length === 0) {
    fail(`"main" must be a path relative to the project, got ${JSON.stringify(value.main)}`);
  }
  const port = value.port ?? DEFAULT_SERVICE_PORT;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    fail(`"port" must be a whole number from 1 to 65535, got ${JSON.stringify(value.port)}`);
  }
  return {
    function: value.function as string,
    library: value.library as string | undefined,
    main: main as string,
    port: port as number,
  };
}

/** Parses marker text (JSON), naming the file when it is not JSON. */
export function parseServiceMarkerText(text: string, file: string): ServiceMarker {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new MarkerError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  return parseServiceMarker(raw, file);
}

/** The marker of the project at `projectRoot`, or undefined when it has none. */
export function readServiceMarker(workspaceRoot: string, projectRoot: string): ServiceMarker | undefined {
  const file = join(projectRoot, MARKER_FILE);
  const absolute = join(workspaceRoot, file);
  return existsSync(absolute) ? parseServiceMarkerText(readFileSync(absolute, 'utf8'), file) : undefined;
}

/** What the generator writes: every field, so a reader of the file sees the defaults too. */
export function renderServiceMarker(marker: ServiceMarker): ServiceMarker {
  return { function: marker.function, library: marker.library, main: marker.main, port: marker.port };
}
