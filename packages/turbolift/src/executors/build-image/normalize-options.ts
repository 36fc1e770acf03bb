import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { NormalizedBuildImageOptions } from '../../docker/build';
import { ImageError } from '../../docker/errors';
import { isValidTag, splitRepository } from '../../docker/image-reference';
import { servicePaths } from '../../service/paths';
import type { ProjectRef } from '../../service/project';
import type { BuildImageExecutorOptions } from './schema';

export type { NormalizedBuildImageOptions };

/** The project the image is for; `nodeVersion` (default: the running Node) picks the default base image. */
export type BuildImageProject = ProjectRef & { nodeVersion?: string };

/** `@acme/compress-all-service` → `acme/compress-all-service`: a valid repository path. */
export function repositoryName(projectName: string): string {
  return projectName
    .toLowerCase()
    .replace(/^@/, '')
    .replace(/[^a-z0-9._/-]+/g, '-')
    .replace(/^[-._/]+|[-._/]+$/g, '');
}

export function normalizeBuildImageOptions(options: BuildImageExecutorOptions, project: BuildImageProject): NormalizedBuildImageOptions {
  const { name: projectName, root: projectRoot, workspaceRoot } = project;
  const fromRoot = (path: string) => (isAbsolute(path) ? path : resolve(workspaceRoot, path));
  const nodeMajor = (project.nodeVersion ?? process.versions.node).replace(/^v/, '').split('.')[0];
  const paths = servicePaths(projectRoot, options.bundleDir);

  const registry = options.registry?.replace(/^https?:\/\//, '').replace(/\/+$/, '') || undefined;
  const repository = options.repository ?? (registry ? `${registry}/${repositoryName(projectName)}` : repositoryName(projectName));
  const repositoryRegistry = splitRepository(repository).registry;
  if (registry && repositoryRegistry && repositoryRegistry !== registry) {
    throw new ImageError('TL_BAD_OPTIONS', `build-image options of ${projectName}: repository ${repository} is not in registry ${registry}`);
  }
  const push = options.push ?? Boolean(registry ?? repositoryRegistry);
  if (push && !(registry ?? repositoryRegistry)) {
    throw new ImageError('TL_BAD_OPTIONS', `build-image options of ${projectName}: "push" needs a "registry" (or a repository that starts with one)`);
  }
  const extraTags = options.tags ?? [];
  for (const tag of extraTags) {
    if (!isValidTag(tag)) throw new ImageError('TL_BAD_OPTIONS', `build-image options of ${projectName}: "${tag}" is not a valid image tag`);
  }
  const keep = options.keep ?? 3;
  if (!Number.isInteger(keep) || keep < 1) {
    throw new ImageError('TL_BAD_OPTIONS', `build-image options of ${projectName}: "keep" must be a whole number ≥ 1, got ${keep}`);
  }

  let dockerfile: string | undefined;
  if (options.dockerfile) {
    dockerfile = fromRoot(options.dockerfile);
    if (!existsSync(dockerfile))
      throw new ImageError('TL_DOCKERFILE_MISSING', `Dockerfile ${options.dockerfile} (option "dockerfile" of ${projectName}) does not exist`);
  } else if (existsSync(join(workspaceRoot, projectRoot, 'Dockerfile'))) {
    dockerfile = join(workspaceRoot, projectRoot, 'Dockerfile');
  }

  return {
    sourceMaps: options.sourceMaps ?? false,
    service: projectName,
    projectRoot,
    workspaceRoot,
    bundleDir: fromRoot(paths.bundleDir),
    recordFile: join(workspaceRoot, paths.imageRecord),
    repository,
    registry: registry ?? repositoryRegistry,
    push,
    baseImage: options.baseImage ?? `node:${nodeMajor}-slim`,
    extraTags: extraTags.filter((tag, index) => extraTags.indexOf(tag) === index),
    keep,
    dockerfile,
    labels: { ...(options.labels ?? {}) },
    port: options.port ?? 8080,
  };
}
