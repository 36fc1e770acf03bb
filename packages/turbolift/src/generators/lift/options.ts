export interface LiftGeneratorSchema {
  fn?: string;
  project?: string;
  file?: string;
  all?: boolean;
  directory?: string;
  serviceDirectory?: string;
  skipFormat?: boolean;
  /** Lift even when some uses cannot be made to await the result; they are listed as a warning. */
  allowSyncCallers?: boolean;
}

export interface NormalizedLiftOptions {
  fn?: string;
  project?: string;
  file?: string;
  all: boolean;
  directory: string;
  serviceDirectory: string;
  skipFormat: boolean;
  allowSyncCallers: boolean;
}

const trimSlashes = (p: string) => p.replace(/^\.?\/+/, '').replace(/\/+$/, '');

export function normalizeOptions(schema: LiftGeneratorSchema): NormalizedLiftOptions {
  return {
    fn: schema.fn?.trim() || undefined,
    project: schema.project?.trim() || undefined,
    file: schema.file ? trimSlashes(schema.file.trim()) : undefined,
    all: schema.all === true,
    directory: trimSlashes(schema.directory ?? 'libs/lifted'),
    serviceDirectory: trimSlashes(schema.serviceDirectory ?? 'apps/lifted'),
    skipFormat: schema.skipFormat === true,
    allowSyncCallers: schema.allowSyncCallers === true,
  };
}

/** `sumSquares` -> `sum-squares`, `HTTPGet` -> `http-get`. */
export function kebabCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .replace(/[_\s]+/g, '-')
    .toLowerCase();
}
