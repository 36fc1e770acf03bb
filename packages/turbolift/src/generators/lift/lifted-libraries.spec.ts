import { describe, expect, it } from 'vitest';
import { findLiftedLibraries, markLiftedLibraryUses } from './lifted-libraries';
import type { WorkspaceProject } from './workspace-program';

const project = (name: string, root: string, tags: string[] = []): WorkspaceProject => ({ name, root, sourceRoot: `${root}/src`, config: { root, tags } });

describe('lifted libraries', () => {
  const projects = [
    project('app', 'apps/app'),
    project('lifted-a', 'libs/lifted/a'),
    project('@acme/elsewhere', 'packages/elsewhere'),
    project('tagged', 'libs/tagged', ['turbolift:lifted']),
  ];

  it('are the projects below the directory, the tagged ones and those a service marker names by package or project name', () => {
    const libraries = findLiftedLibraries({
      projects,
      directory: 'libs/lifted',
      markers: [
        { path: 'apps/lifted/a-service/turbolift.json', library: 'lifted-a' },
        { path: 'services/e/turbolift.json', library: '@acme/elsewhere-lib' },
      ],
      packageNames: new Map([['packages/elsewhere', '@acme/elsewhere-lib']]),
    });
    expect([...libraries.keys()].sort()).toEqual(['libs/lifted/a', 'libs/tagged', 'packages/elsewhere']);
    expect(libraries.get('libs/lifted/a')?.service).toBe('apps/lifted/a-service');
    expect(libraries.get('packages/elsewhere')?.service).toBe('services/e');
  });

  it('say in the reason of a use in one of them that it runs in its service', () => {
    const libraries = findLiftedLibraries({ projects, directory: 'libs/lifted', markers: [], packageNames: new Map() });
    const uses = markLiftedLibraryUses(
      [
        { file: 'libs/lifted/a/src/lib/a.ts', line: 3, column: 5, why: 'in synchronous function a' },
        { file: 'apps/app/src/main.ts', line: 1, column: 1, why: 'in synchronous function main' },
      ],
      libraries,
      projects,
    );
    expect(uses.map((u) => u.why)).toEqual(['in synchronous function a (in lifted library lifted-a)', 'in synchronous function main']);
  });
});
