import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ensureNpmRegistry } from './infra';
import { e2eRoot, repoRoot } from './paths';
import { run } from './run';
import { packPlugin } from './workspace';

/**
 * The plugin as users get it: packed (`npm pack` of the built packages), published to the local npm
 * registry (verdaccio, tools/test-infra) under a version of this run's own, and installed from there by name.
 * A version per run means no registry, lockfile or package-manager cache can hand a test an older build.
 */

/** The packages this repository publishes; turbolift depends on the runtime at exactly its own version. */
export const pluginPackages = ['turbolift', '@turbolift/runtime'] as const;

export interface LocalRegistry {
  /** The registry's URL, e.g. http://127.0.0.1:4873/ (trailing slash, as npm config keys need it). */
  url: string;
  /** The version both packages were published under in this run, e.g. 0.1.0-e2e.1764750000000. */
  version: string;
}

// The global setup publishes and leaves these for the tests (jest passes process.env on to them).
const URL_KEY = 'TURBOLIFT_E2E_NPM_REGISTRY';
const VERSION_KEY = 'TURBOLIFT_E2E_PLUGIN_VERSION';

/** Where this run's turbolift and @turbolift/runtime are, and under which version. */
export function localRegistry(): LocalRegistry {
  const url = process.env[URL_KEY];
  const version = process.env[VERSION_KEY];
  if (!url || !version) throw new Error(`${URL_KEY}/${VERSION_KEY} are not set: the e2e global setup publishes the plugin (publishPlugin) and sets them`);
  return { url, version };
}

/** `turbolift@<version>` and `@turbolift/runtime@<version>`: what a user adds to a workspace. */
export function pluginSpecs(registry: LocalRegistry = localRegistry()): string[] {
  return pluginPackages.map((name) => `${name}@${registry.version}`);
}

/** npm's config key for a registry's token: the URL without its scheme (`//127.0.0.1:4873/:_authToken`). */
export const authTokenKey = (url: string) => `${url.replace(/^https?:/, '')}:_authToken`;

function tarballEntries(tarball: string): string[] {
  return execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

/** Sets a packed package's version (and turbolift's dependency on the runtime) to this run's version. */
function rewriteManifest(dir: string, version: string): string {
  const file = join(dir, 'package.json');
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  manifest.version = version;
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
    for (const name of pluginPackages) if (manifest[field]?.[name]) manifest[field][name] = version;
  }
  writeFileSync(file, JSON.stringify(manifest, null, 2) + '\n');
  return manifest.name;
}

/**
 * For the global setup: packs both packages, gives them this run's version, checks each tarball carries
 * its README, publishes them (runtime first) and exports where they are for the tests.
 */
export function publishPlugin(): LocalRegistry {
  const { url, token } = ensureNpmRegistry();
  const baseVersion: string = JSON.parse(readFileSync(join(repoRoot, 'packages/turbolift/package.json'), 'utf8')).version;
  const version = `${baseVersion}-e2e.${Date.now()}`;
  const stage = join(e2eRoot(), 'publish');
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  // The token goes in a config file of this run's own (mode 600), never into the user's ~/.npmrc.
  const npmrc = join(stage, '.npmrc');
  writeFileSync(npmrc, `registry=${url}\n${authTokenKey(url)}=${token}\n`, { mode: 0o600 });

  const packed = packPlugin();
  const ordered = pluginPackages
    .slice()
    .reverse()
    .map((name) => {
      // npm pack names a scoped package's tarball without the '@' and with '-' for '/'.
      const expected = `${name.replace('@', '').replace('/', '-')}-${baseVersion}.tgz`;
      const tarball = packed.find((file) => basename(file) === expected);
      if (!tarball) throw new Error(`npm pack made no tarball for ${name} (made: ${packed.map((f) => basename(f)).join(', ')})`);
      return tarball;
    });
  for (const tarball of ordered) {
    const dir = join(stage, basename(tarball, '.tgz'));
    mkdirSync(dir, { recursive: true });
    execFileSync('tar', ['-xzf', tarball, '-C', dir, '--strip-components=1']);
    const name = rewriteManifest(dir, version);
    const repacked = run('npm', ['pack', '--json', '--pack-destination', stage], { cwd: dir }).stdout;
    const file = join(stage, JSON.parse(repacked)[0].filename);
    if (!tarballEntries(file).includes('package/README.md'))
      throw new Error(`${name}'s tarball ${file} has no README.md: the package's "files" must list one it has`);
    run('npm', ['publish', file, '--tag', 'e2e', '--userconfig', npmrc, '--registry', url, '--no-audit'], { cwd: stage, timeoutMs: 2 * 60 * 1000 });
  }
  process.env[URL_KEY] = url;
  process.env[VERSION_KEY] = version;
  return { url, version };
}
