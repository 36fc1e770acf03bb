/**
 * The service project an executor runs for, resolved once from Nx's context: its name and root, its
 * marker (validated) and its paths. Every executor starts here, so "which project, which function,
 * which files" has one answer.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { TurboliftError } from '../errors';
import { MARKER_FILE, readServiceMarker, type ServiceMarker } from './marker';
import { servicePaths, type ServicePaths } from './paths';

export interface ProjectRef {
  /** The Nx project name. */
  name: string;
  /** Its root, relative to the workspace root. */
  root: string;
  workspaceRoot: string;
}

export interface ServiceProject extends ProjectRef {
  /** The project's turbolift.json; executors that need it ask `requireMarker`. */
  marker?: ServiceMarker;
  /** Where its bundle and image record are (relative to the workspace root). */
  paths: ServicePaths;
}

/** The project of the running target; a target run without one is a misuse of the executor. */
export function resolveProject(context: ExecutorContext, executor: string): ProjectRef {
  const name = context.projectName;
  const root = name ? context.projectsConfigurations?.projects?.[name]?.root : undefined;
  if (!name || root === undefined) throw new TurboliftError('TL_NOT_A_PROJECT_TARGET', `${executor} must run as a target of a project`);
  return { name, root, workspaceRoot: context.root };
}

export function resolveServiceProject(context: ExecutorContext, executor: string, bundleDir?: string): ServiceProject {
  const project = resolveProject(context, executor);
  return { ...project, marker: readServiceMarker(project.workspaceRoot, project.root), paths: servicePaths(project.root, bundleDir) };
}

/** The marker, for executors that only run lifted services. */
export function requireMarker(project: ServiceProject, executor: string): ServiceMarker {
  if (project.marker) return project.marker;
  throw new TurboliftError('TL_NOT_A_SERVICE', `${join(project.root, MARKER_FILE)} is missing: ${executor} runs lifted services only`);
}

/** The workspace's package name (the root package.json), when it has one. */
export function readWorkspaceName(workspaceRoot: string): string | undefined {
  try {
    const name = (JSON.parse(readFileSync(join(workspaceRoot, 'package.json'), 'utf8')) as { name?: unknown }).name;
    return typeof name === 'string' ? name : undefined;
  } catch {
    return undefined;
  }
}
