/**
 * Facts about npm packages the bundler needs: the package name of an import, and whether a package
 * must stay outside the bundle because it loads a native addon or files next to its own code.
 */
import { isBuiltin } from 'node:module';

/** `@scope/name/sub/path` → `@scope/name`, `name/sub` → `name`; relative, absolute and builtin imports → undefined. */
export function packageNameOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:') || isBuiltin(specifier)) return undefined;
  const parts = specifier.split('/');
  if (specifier.startsWith('@')) return parts.length >= 2 && parts[1] ? `${parts[0]}/${parts[1]}` : undefined;
  return parts[0] || undefined;
}

export interface InstalledManifest {
  name?: string;
  version?: string;
  gypfile?: boolean;
  binary?: unknown;
}

/**
 * A package with a native addon cannot be inlined: its `.node` file is found at run time relative to the
 * package folder. npm marks those with `gypfile`, a `binding.gyp`, or node-pre-gyp's `binary` field.
 */
export function needsInstalledCopy(manifest: InstalledManifest, hasBindingGyp: boolean): boolean {
  return manifest.gypfile === true || hasBindingGyp || manifest.binary !== undefined;
}
