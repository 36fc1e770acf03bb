import { joinPathFragments } from '@nx/devkit';
import type { SyncUse } from './call-sites';
import { projectOfFile, type WorkspaceProject } from './workspace-program';

/** A library an earlier lift made: its service runs its code, so a call it makes runs inside that service. */
export interface LiftedLibrary {
  project: WorkspaceProject;
  /** The folder of the service that serves it (from the marker that names it), when one does. */
  service?: string;
}

export interface LiftedLibraryFacts {
  projects: WorkspaceProject[];
  /** The lift's `directory`: every project below it is a lifted library. */
  directory: string;
  /** Each service marker's path and the library it names (an import path or a project name). */
  markers: Array<{ path: string; library?: string }>;
  /** The package name of each project root that has one. */
  packageNames: Map<string, string>;
}

const LIFTED_TAG = 'turbolift:lifted';

/** Lifted libraries: below `directory`, tagged `turbolift:lifted`, or named by a service's `turbolift.json`. */
export function findLiftedLibraries(facts: LiftedLibraryFacts): Map<string, LiftedLibrary> {
  const byRoot = new Map<string, LiftedLibrary>();
  const dir = facts.directory.replace(/\/+$/, '');
  for (const project of facts.projects) {
    const under = dir !== '' && (project.root === dir || project.root.startsWith(`${dir}/`));
    if (under || project.config.tags?.includes(LIFTED_TAG)) byRoot.set(project.root, { project });
  }
  for (const marker of facts.markers) {
    if (!marker.library) continue;
    const project = facts.projects.find((p) => p.name === marker.library || facts.packageNames.get(p.root) === marker.library);
    if (!project) continue;
    const service = marker.path.includes('/') ? marker.path.slice(0, marker.path.lastIndexOf('/')) : '.';
    byRoot.set(project.root, { project, service: joinPathFragments(service) });
  }
  return byRoot;
}

/**
 * A use in a lifted library runs inside that library's service: said in its reason, because there a Promise
 * where a value was expected does not fail to compile in the app, it computes garbage in the service.
 */
export function markLiftedLibraryUses(uses: SyncUse[], libraries: Map<string, LiftedLibrary>, projects: WorkspaceProject[]): SyncUse[] {
  return uses.map((use) => {
    const project = projectOfFile(projects, use.file);
    const library = project && libraries.get(project.root);
    if (!library) return use;
    const servedBy = library.service ? `, served by ${library.service}` : '';
    return { ...use, why: `${use.why} (in lifted library ${library.project.name}${servedBy})` };
  });
}
