/**
 * Which projects bundle the lifted function's project for the browser. There the stub resolves to the runtime's
 * browser entry: it runs the function in-process (local mode) and refuses distributed calls, so the lift says so.
 * Pure: the generator gathers the facts from the Tree.
 */

/** Executors (or their packages, ending in `:`) that build for the browser. */
const BROWSER_EXECUTORS = [
  '@nx/vite:build',
  '@nx/webpack:webpack',
  '@nx/rspack:',
  '@nx/rsbuild:',
  '@angular-devkit/',
  '@angular/build:',
  '@nx/angular:',
  '@nx/next:',
  '@nx/remix:',
  '@nx/expo:',
  '@nx/react-native:',
];

/** Inference plugins that give a project a browser build when it has their config file. */
const BROWSER_PLUGINS: Array<{ plugin: string; config: RegExp }> = [
  { plugin: '@nx/vite/plugin', config: /^vite\.config\.[cm]?[jt]s$/ },
  { plugin: '@nx/webpack/plugin', config: /^webpack\.config\.[cm]?[jt]s$/ },
  { plugin: '@nx/rspack/plugin', config: /^rspack\.config\.[cm]?[jt]s$/ },
  { plugin: '@nx/rsbuild/plugin', config: /^rsbuild\.config\.[cm]?[jt]s$/ },
  { plugin: '@nx/next/plugin', config: /^next\.config\.[cm]?[jt]s$/ },
  { plugin: '@nx/remix/plugin', config: /^(remix|vite)\.config\.[cm]?[jt]s$/ },
  { plugin: '@nx/expo/plugin', config: /^(app\.json|metro\.config\.[cm]?js)$/ },
  { plugin: '@nx/react-native/plugin', config: /^metro\.config\.[cm]?js$/ },
];

export interface ProjectBuildFacts {
  name: string;
  /** Executor of each target the project's configuration spells out. */
  executors: Record<string, string | undefined>;
  /** Names of the files directly in the project's root (where inference plugins look for their config). */
  rootFiles: string[];
  /** The `lib` of each of the project's tsconfig files that sets one. */
  tsconfigLibs: string[][];
}

/** Why the project is built for the browser (`target build: @nx/vite:build`), or undefined when it is not. */
export function browserBuildReason(project: ProjectBuildFacts, plugins: string[]): string | undefined {
  for (const [target, executor] of Object.entries(project.executors)) {
    if (executor && BROWSER_EXECUTORS.some((e) => (e.endsWith(':') || e.endsWith('/') ? executor.startsWith(e) : executor === e))) {
      return `target ${target}: ${executor}`;
    }
  }
  for (const { plugin, config } of BROWSER_PLUGINS) {
    const file = plugins.includes(plugin) ? project.rootFiles.find((f) => config.test(f)) : undefined;
    if (file) return `${file} with ${plugin}`;
  }
  if (project.tsconfigLibs.some((lib) => lib.some((l) => l.toLowerCase() === 'dom'))) return 'its tsconfig lib includes "dom"';
  return undefined;
}

/** The projects that depend on `project`, directly or through others; `dependencies` maps each project to what it uses. */
export function dependentsOf(project: string, dependencies: Map<string, Set<string>>): Set<string> {
  const found = new Set<string>();
  const queue = [project];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const [name, uses] of dependencies) {
      if (uses.has(next) && !found.has(name) && name !== project) {
        found.add(name);
        queue.push(name);
      }
    }
  }
  return found;
}

/** The browser-built projects that bundle `project` (itself included), each with the reason, in name order. */
export function findBrowserConsumers(
  project: string,
  facts: ProjectBuildFacts[],
  dependencies: Map<string, Set<string>>,
  plugins: string[],
): Array<{ name: string; reason: string }> {
  const candidates = new Set([project, ...dependentsOf(project, dependencies)]);
  return facts
    .filter((f) => candidates.has(f.name))
    .flatMap((f) => {
      const reason = browserBuildReason(f, plugins);
      return reason ? [{ name: f.name, reason }] : [];
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The one warning the lift prints when the function's project feeds a browser build. */
export function browserWarning(fn: string, project: string, consumers: Array<{ name: string; reason: string }>): string | undefined {
  if (!consumers.length) return undefined;
  const list = consumers.map((c) => `${c.name} (${c.reason})`).join(', ');
  return (
    `${fn}'s project ${project} is bundled for the browser by ${list}. In the browser the stub runs ${fn} in local mode only ` +
    `(the runtime's browser entry refuses distributed calls with TL_DISTRIBUTED_IN_BROWSER), and ${fn}'s code stays in the browser bundle.`
  );
}
