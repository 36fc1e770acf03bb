/**
 * The Nx plugin entry: every `turbolift.json` marks a lifted service, and this infers its targets
 * (build, serve, build-image, deploy-k8s, undeploy-k8s). Target building is a pure function of the
 * project root, the marker and the plugin options; only the thin entry reads files.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createNodesFromFiles, type CreateNodesContextV2, type CreateNodesResult, type CreateNodesV2, type TargetConfiguration } from '@nx/devkit';
import { MARKER_GLOB, SERVICE_TAG, parseServiceMarkerText, type ServiceMarker } from '../service/marker';
import { servicePaths, toPosix } from '../service/paths';

export interface TurboliftPluginOptions {
  buildTargetName?: string;
  serveTargetName?: string;
  buildImageTargetName?: string;
  deployTargetName?: string;
  undeployTargetName?: string;
}

type TargetNames = Required<TurboliftPluginOptions>;

export function normalizePluginOptions(options: TurboliftPluginOptions | undefined): TargetNames {
  return {
    buildTargetName: options?.buildTargetName ?? 'build',
    serveTargetName: options?.serveTargetName ?? 'serve',
    buildImageTargetName: options?.buildImageTargetName ?? 'build-image',
    deployTargetName: options?.deployTargetName ?? 'deploy-k8s',
    undeployTargetName: options?.undeployTargetName ?? 'undeploy-k8s',
  };
}

/** What the targets depend on in the workspace around the service. */
export interface WorkspaceFacts {
  /** The workspace defines the `production` named input (most do; a bare workspace only has `default`). */
  hasProductionInput: boolean;
  /**
   * Packages the workspace's lockfile lists. Nx hashes external dependencies from the lockfile and
   * refuses to run a task naming one it cannot find there, so only these become inputs.
   */
  lockedPackages: readonly string[];
  /** The deploy target's `targetDefaults` in nx.json (by target name or executor), which undeploy must follow. */
  deployDefaults?: DeployDefaults;
}

export interface DeployDefaults {
  options?: Record<string, unknown>;
  configurations?: Record<string, Record<string, unknown> | undefined>;
}

/** The options that say which objects a deploy made, and so which ones undeploy removes. */
const CLUSTER_SELECTION = ['kubeconfig', 'context', 'namespace', 'name'] as const;

function clusterSelection(options: Record<string, unknown> | undefined): Record<string, unknown> {
  const selected = CLUSTER_SELECTION.map((key) => [key, options?.[key]] as const).filter(([, value]) => value !== undefined);
  return Object.fromEntries(selected);
}

/**
 * Undeploy's options and configurations, taken from deploy's defaults: `nx run svc:undeploy-k8s:staging` removes
 * what `nx run svc:deploy-k8s:staging` made, without the user repeating the cluster of each environment. Nx only
 * passes a configuration to a target that has it, so undeploy gets every configuration deploy has.
 */
export function undeployDefaults(deploy: DeployDefaults | undefined): Pick<TargetConfiguration, 'options' | 'configurations'> {
  const configurations = Object.fromEntries(Object.entries(deploy?.configurations ?? {}).map(([name, options]) => [name, clusterSelection(options)]));
  return {
    options: clusterSelection(deploy?.options),
    ...(Object.keys(configurations).length > 0 ? { configurations } : {}),
  };
}

/** targetDefaults of a target, by its name or its executor (the name wins, as in Nx). */
export function targetDefaultsOf(
  targetDefaults: Record<string, Partial<TargetConfiguration> | undefined> | undefined,
  targetName: string,
  executor: string,
): DeployDefaults | undefined {
  const byExecutor = targetDefaults?.[executor];
  const byName = targetDefaults?.[targetName];
  if (!byExecutor && !byName) return undefined;
  const configurations = { ...byExecutor?.configurations };
  for (const [name, options] of Object.entries(byName?.configurations ?? {})) configurations[name] = { ...configurations[name], ...options };
  return { options: { ...byExecutor?.options, ...byName?.options }, configurations };
}

const DEPLOY_EXECUTOR = 'turbolift:deploy-k8s';
const UNDEPLOY_EXECUTOR = 'turbolift:undeploy-k8s';

/** The target that builds a workspace library (the name @nx/js and most plugins infer), run before a bundle. */
export const LIBRARY_BUILD_TARGET = 'build';

/** Packages whose versions change what the targets produce. */
export const HASHED_PACKAGES = ['esbuild', 'turbolift'];

const DEFAULT_FACTS: WorkspaceFacts = { hasProductionInput: true, lockedPackages: HASHED_PACKAGES };

const LOCKFILES = ['package-lock.json', 'pnpm-lock.yaml', 'yarn.lock', 'bun.lock'];

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Which of `names` a lockfile's text lists (npm `node_modules/<name>"`, yarn/pnpm/bun `<name>@`). */
export function packagesInLockfile(lockfileText: string, names: readonly string[]): string[] {
  return names.filter((name) => {
    const escaped = escapeRegExp(name);
    return new RegExp(`node_modules/${escaped}"|(^|[\\s"'/])${escaped}@`, 'm').test(lockfileText);
  });
}

function readLockedPackages(workspaceRoot: string): string[] {
  const lockfile = LOCKFILES.map((file) => join(workspaceRoot, file)).find((file) => existsSync(file));
  return lockfile ? packagesInLockfile(readFileSync(lockfile, 'utf8'), HASHED_PACKAGES) : [];
}

/**
 * A cached image record is a claim about the engine and the registry. This hash input asks them: while the
 * record on disk names an image that is really there it prints `consistent`, otherwise why not, so a record
 * whose image was removed is a cache miss and build-image rebuilds instead of restoring a lie.
 */
export function recordConsistencyCommand(projectRoot: string): string {
  return `node -e "require('turbolift/record-consistency')" ${servicePaths(projectRoot).imageRecord}`;
}

/** The targets of one lifted service. */
export function createServiceTargets(
  projectRoot: string,
  marker: ServiceMarker,
  pluginOptions: TurboliftPluginOptions | undefined,
  workspace: WorkspaceFacts = DEFAULT_FACTS,
): Record<string, TargetConfiguration> {
  const names = normalizePluginOptions(pluginOptions);
  const sourceInputs = workspace.hasProductionInput ? ['production', '^production'] : ['default', '^default'];
  const externalInputs = (packages: string[]) => {
    const locked = packages.filter((name) => workspace.lockedPackages.includes(name));
    return locked.length > 0 ? [{ externalDependencies: locked }] : [];
  };
  const paths = servicePaths(projectRoot);
  const main = toPosix(join(projectRoot, marker.main));

  return {
    [names.buildTargetName]: {
      executor: 'turbolift:bundle',
      cache: true,
      // The libraries' own builds first: a library whose exports the bundle cannot take from source (no custom
      // condition of the workspace's matches them) resolves to its built output, which a clean checkout lacks.
      dependsOn: [`^${LIBRARY_BUILD_TARGET}`],
      inputs: [...sourceInputs, ...externalInputs(['esbuild'])],
      // The folder the options name: a user who overrides outputPath gets that folder cached.
      outputs: ['{options.outputPath}'],
      // Minified (names kept) with a source map beside it: serve maps stacks, images leave the map out unless asked.
      options: { main, outputPath: paths.bundleDir, minify: true },
      metadata: {
        description: `Bundle the ${marker.function} service into ${paths.mainJs} with a pruned package.json.`,
        technologies: ['turbolift'],
      },
    },
    [names.serveTargetName]: {
      executor: 'turbolift:serve',
      continuous: true,
      dependsOn: [names.buildTargetName],
      // No port option: serve takes turbolift.json's port itself, and only with fixedPort.
      options: { bundleDir: paths.bundleDir },
      metadata: {
        description:
          `Run the ${marker.function} service on a free 127.0.0.1 port (${marker.port} with fixedPort) ` +
          'and register its URL and pid in .turbolift/endpoints.json.',
        technologies: ['turbolift'],
      },
    },
    [names.buildImageTargetName]: {
      executor: 'turbolift:build-image',
      cache: true,
      dependsOn: [names.buildTargetName],
      inputs: [...sourceInputs, ...externalInputs(['turbolift']), { env: 'DOCKER_HOST' }, { runtime: recordConsistencyCommand(projectRoot) }],
      outputs: [`{workspaceRoot}/${servicePaths('{projectRoot}').imageRecord}`],
      options: {},
      metadata: {
        description: `Build the container image of the ${marker.function} service and record it in ${paths.imageRecord}.`,
        technologies: ['turbolift', 'docker'],
      },
    },
    [names.deployTargetName]: {
      executor: DEPLOY_EXECUTOR,
      // A deploy changes the cluster: never replayed from cache. The executor skips an unchanged Deployment itself.
      cache: false,
      dependsOn: [names.buildImageTargetName],
      options: {},
      metadata: {
        description: `Deploy the ${marker.function} service to Kubernetes (server-side apply) and wait for the rollout.`,
        technologies: ['turbolift', 'kubernetes'],
      },
    },
    [names.undeployTargetName]: {
      executor: UNDEPLOY_EXECUTOR,
      cache: false,
      ...undeployDefaults(workspace.deployDefaults),
      metadata: {
        description: `Remove what ${names.deployTargetName} applied for the ${marker.function} service.`,
        technologies: ['turbolift', 'kubernetes'],
      },
    },
  };
}

/** The project of one marker file, or nothing when the marker is not inside a project we can name. */
export function createServiceNodes(
  markerFile: string,
  markerText: string,
  pluginOptions: TurboliftPluginOptions | undefined,
  workspace: WorkspaceFacts & { projectNameIfNoManifest?: string },
): CreateNodesResult {
  const projectRoot = dirname(markerFile);
  const marker = parseServiceMarkerText(markerText, markerFile);
  return {
    projects: {
      [projectRoot]: {
        ...(workspace.projectNameIfNoManifest ? { name: workspace.projectNameIfNoManifest } : {}),
        tags: [SERVICE_TAG],
        targets: createServiceTargets(projectRoot, marker, pluginOptions, workspace),
      },
    },
  };
}

function createNodesForMarker(
  markerFile: string,
  options: TurboliftPluginOptions | undefined,
  context: CreateNodesContextV2,
  lockedPackages: readonly string[],
): CreateNodesResult {
  const projectRoot = dirname(markerFile);
  const absoluteRoot = join(context.workspaceRoot, projectRoot);
  const hasManifest = existsSync(join(absoluteRoot, 'project.json')) || existsSync(join(absoluteRoot, 'package.json'));
  return createServiceNodes(markerFile, readFileSync(join(context.workspaceRoot, markerFile), 'utf8'), options, {
    hasProductionInput: Boolean(context.nxJsonConfiguration?.namedInputs?.production),
    lockedPackages,
    deployDefaults: targetDefaultsOf(context.nxJsonConfiguration?.targetDefaults, normalizePluginOptions(options).deployTargetName, DEPLOY_EXECUTOR),
    // A project needs a name; project.json or package.json give one, a lone marker falls back to its folder.
    projectNameIfNoManifest: hasManifest ? undefined : projectRoot.split('/').pop(),
  });
}

export const createNodesV2: CreateNodesV2<TurboliftPluginOptions> = [
  MARKER_GLOB,
  (configFiles, options, context) => {
    // Read once for all markers: the lockfile can be large.
    const lockedPackages = configFiles.length > 0 ? readLockedPackages(context.workspaceRoot) : [];
    return createNodesFromFiles((file, opts, ctx) => createNodesForMarker(file, opts, ctx, lockedPackages), configFiles, options ?? {}, context);
  },
];

/** Nx 22 reads `createNodes` with the same (v2) signature; both names are exported for Nx 21 and 22. */
export const createNodes = createNodesV2;
