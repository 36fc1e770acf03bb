// Graceful shutdown of a real service process: SIGTERM makes it unready at once, it keeps serving
// through the drain window, lets calls in flight finish, and exits 0.
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { startChildService, type ChildService } from '../../test/child-service';
import { closeConnections, liftedStub } from '../index';

const FIXTURE = join(__dirname, '../../test/fixtures/slow-service.ts');
const IN_FLIGHT = 4;

describe('drain on SIGTERM (real child process)', () => {
  let service: ChildService | undefined;
  afterEach(async () => {
    service?.dispose();
    service = undefined;
    delete process.env.TURBOLIFT_SLOW_URL;
    delete process.env.TURBOLIFT_MODE;
    await closeConnections();
  });

  it('turns unready, keeps serving during the window, finishes calls in flight, exits 0', async () => {
    // Calls in flight outlast the drain window, so they must survive the close itself.
    service = await startChildService(FIXTURE, { TURBOLIFT_DRAIN_MS: '1500', TURBOLIFT_DRAIN_QUIET_MS: '1500' });
    process.env.TURBOLIFT_SLOW_URL = service.url;
    process.env.TURBOLIFT_MODE = 'distributed';
    const slow = liftedStub('slow', async (_ms: number, _tag: string) => '', { service: 'slow-service', retries: 0 });

    expect((await request(`${service.url}/readyz`)).statusCode).toBe(200);
    const inFlight = Array.from({ length: IN_FLIGHT }, (_, i) => slow(3000, `in-flight-${i}`));
    for (let i = 0; i < IN_FLIGHT; i++) await service.waitForOutput(`started in-flight-${i}`);

    service.child.kill('SIGTERM');
    await service.waitForOutput('draining');

    const readyz = await request(`${service.url}/readyz`);
    expect(readyz.statusCode).toBe(503);
    expect(await readyz.body.json()).toEqual({ status: 'draining' });

    // Callers that have not noticed yet are still served, and told to drop the connection.
    const late = await request(`${service.url}/v1/call`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[0,"late"]' });
    expect(late.statusCode).toBe(200);
    expect(late.headers.connection).toBe('close');
    expect(await late.body.json()).toBe('done late');

    expect(await Promise.all(inFlight)).toEqual(Array.from({ length: IN_FLIGHT }, (_, i) => `done in-flight-${i}`));
    expect(await service.exited).toBe(0);
    expect(service.output()).toContain('slow stopped');
  });

  it('ends the drain window early once no call arrives for the quiet period', async () => {
    service = await startChildService(FIXTURE, { TURBOLIFT_DRAIN_MS: '600000', TURBOLIFT_DRAIN_QUIET_MS: '200' });
    service.child.kill('SIGTERM');
    // With a 10-minute window, exiting at all proves the quiet period ended it.
    expect(await service.exited).toBe(0);
  });
});
