import { join } from 'node:path';
import { repoRoot } from '../support/paths';
import { run } from '../support/run';

// The README's main command, on the example workspace in the older tsconfig `paths` layout (the other suites use
// the TypeScript-solution layout that create-nx-workspace makes today).
describe('npm run demo (paths layout)', () => {
  it('lifts compressAll, serves it and gets the same result distributed as local', () => {
    const outcome = run('node', [join(repoRoot, 'scripts/demo.mjs')], { cwd: repoRoot, timeoutMs: 5 * 60 * 1000 });
    expect(outcome.stdout).toContain('CREATE apps/lifted/compress-all-service/turbolift.json');
    expect(outcome.stdout).toMatch(/compressAll is served at http:\/\/127\.0\.0\.1:\d+/);
    const same = /same result in both modes: (\{.*\})/.exec(outcome.stdout);
    expect(same).not.toBeNull();
    expect(JSON.parse(same![1])).toMatchObject({ count: 3000 });
    expect(outcome.stdout).toMatch(/time: local \d+ ms, distributed \d+ ms/);
  });
});
