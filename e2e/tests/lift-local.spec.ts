import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleApp, runApp } from '../support/app';
import { nx, run, startBackground, waitFor, type Background } from '../support/run';
import { commitAll, copyWorkspace, workingTreeChanges, writeFiles } from '../support/workspace';

const fixture = (name: string) => readFileSync(join(__dirname, '../fixtures/calc', name), 'utf8');

const lifted = ['sumSquares', 'checksum', 'histogram', 'firstOf', 'summarize', 'factorial', 'spread'];

/** Refused forms, each with the line the generator must name and a word its reason must contain. */
const refused = [
  { fn: 'add', line: 5, reason: /method/i },
  { fn: 'countCalls', line: 11, reason: /mutable|module state|calls/i },
  { fn: 'applyTwice', line: 17, reason: /function|wire|serializ/i },
  { fn: 'numbers', line: 22, reason: /generator/i },
];

describe('lift in a fresh TypeScript-solution workspace, served locally', () => {
  let ws: string;
  let services: Background | undefined;

  beforeAll(() => {
    ws = copyWorkspace('lift-local');
    nx(ws, ['g', '@nx/js:lib', 'packages/shared-math', '--bundler=tsc', '--unitTestRunner=none', '--linter=none', '--no-interactive']);
    nx(ws, ['g', '@nx/js:lib', 'packages/calc', '--bundler=tsc', '--unitTestRunner=none', '--linter=none', '--no-interactive']);
    writeFiles(ws, {
      'packages/shared-math/src/index.ts': 'export function scale(x: number, by: number): number {\n  return x * by;\n}\n',
      'packages/calc/src/shapes.ts': fixture('shapes.ts'),
      'packages/calc/src/functions.ts': fixture('functions.ts'),
      'packages/calc/src/stats.ts': fixture('stats.ts'),
      'packages/calc/src/refused.ts': fixture('refused.ts'),
      'packages/calc/src/main.ts': fixture('main.ts'),
      'packages/calc/src/index.ts': "export * from './functions.js';\n",
    });
    const calcPackage = JSON.parse(readFileSync(join(ws, 'packages/calc/package.json'), 'utf8'));
    calcPackage.dependencies = { ...calcPackage.dependencies, '@acme/shared-math': '*' };
    writeFiles(ws, { 'packages/calc/package.json': JSON.stringify(calcPackage, null, 2) + '\n' });
    run('npm', ['install', '--no-audit', '--no-fund'], { cwd: ws });
    commitAll(ws, 'calc app with marked functions');
  });

  afterAll(async () => {
    await services?.stop();
  });

  it.each(refused)('refuses $fn with file, line and reason, and leaves the workspace untouched', ({ fn, line, reason }) => {
    const outcome = nx(ws, ['g', 'turbolift:lift', fn, '--project=@acme/calc', '--no-interactive'], { expectFailure: true });
    expect(outcome.output).toContain(`refused.ts:${line}`);
    expect(outcome.output).toMatch(reason);
    expect(workingTreeChanges(ws)).toEqual([]);
  });

  it('dry-run shows the changes and writes nothing', () => {
    const outcome = nx(ws, ['g', 'turbolift:lift', 'sumSquares', '--dry-run', '--no-interactive']);
    expect(outcome.output).toMatch(/CREATE .*turbolift\.json/);
    expect(workingTreeChanges(ws)).toEqual([]);
  });

  it('lifts every supported form and local mode still gives the original results', () => {
    const before = runApp(ws, bundleApp(ws, 'packages/calc/src/main.ts', 'before'), 'local').result;
    for (const fn of lifted) nx(ws, ['g', 'turbolift:lift', fn, '--project=@acme/calc', '--no-interactive']);
    run('npm', ['install', '--no-audit', '--no-fund'], { cwd: ws });
    const after = runApp(ws, bundleApp(ws, 'packages/calc/src/main.ts', 'after'), 'local').result;
    expect(after).toEqual(before);
    commitAll(ws, 'lift');
  });

  it('lifting the same function twice is a clear error', () => {
    const outcome = nx(ws, ['g', 'turbolift:lift', 'sumSquares', '--project=@acme/calc', '--no-interactive'], { expectFailure: true });
    expect(outcome.output).toMatch(/already lifted/i);
    expect(workingTreeChanges(ws)).toEqual([]);
  });

  it('shows inferred targets for every lifted service', () => {
    const projects: string[] = JSON.parse(nx(ws, ['show', 'projects', '--json']).stdout);
    const serviceProjects = projects.filter((p) => p.endsWith('-service'));
    expect(serviceProjects).toHaveLength(lifted.length);
    const details = JSON.parse(nx(ws, ['show', 'project', serviceProjects[0], '--json']).stdout);
    expect(Object.keys(details.targets)).toEqual(expect.arrayContaining(['build', 'serve', 'build-image', 'deploy-k8s', 'undeploy-k8s']));
    expect(details.tags).toContain('turbolift:service');
  });

  it('`nx run-many -t serve` starts every service on loopback and distributed mode equals local mode', async () => {
    const local = runApp(ws, bundleApp(ws, 'packages/calc/src/main.ts', 'lifted'), 'local').result;
    services = startBackground('npx', ['nx', 'run-many', '-t', 'serve', '--parallel=10', '--output-style=stream'], { cwd: ws });
    const endpointsFile = join(ws, '.turbolift/endpoints.json');
    await waitFor(
      `all ${lifted.length} services in ${endpointsFile}\n${services.output()}`,
      () => existsSync(endpointsFile) && Object.keys(JSON.parse(readFileSync(endpointsFile, 'utf8')).endpoints).length === lifted.length,
      240_000,
    );
    const endpoints: Record<string, string> = JSON.parse(readFileSync(endpointsFile, 'utf8')).endpoints;
    for (const url of Object.values(endpoints)) expect(new URL(url).hostname).toBe('127.0.0.1');
    const distributed = runApp(ws, bundleApp(ws, 'packages/calc/src/main.ts', 'lifted'), 'distributed').result;
    expect(distributed).toEqual(local);
    await services.stop();
    services = undefined;
  });

  it('a change to a workspace library marks exactly the service of the function that uses it affected', () => {
    writeFiles(ws, { 'packages/shared-math/src/index.ts': 'export function scale(x: number, by: number): number {\n  return by * x;\n}\n' });
    const affected: string[] = JSON.parse(nx(ws, ['show', 'projects', '--affected', '--base=HEAD', '--json']).stdout);
    const affectedServices = affected.filter((p) => p.endsWith('-service'));
    expect(affectedServices).toEqual([expect.stringMatching(/sum-squares-service$/)]);
  });
});
