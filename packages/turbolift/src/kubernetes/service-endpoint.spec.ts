import { describe, expect, it } from 'vitest';
import { inClusterUrl, readyEndpointAddresses } from './service-endpoint';

describe('readyEndpointAddresses', () => {
  it('counts each ready address once across slices, and treats an unset ready condition as ready', () => {
    const slices = [
      {
        endpoints: [
          { addresses: ['10.244.0.5'], conditions: { ready: true } },
          { addresses: ['10.244.0.6'], conditions: { ready: false } },
        ],
      },
      { endpoints: [{ addresses: ['10.244.0.5'] }, { addresses: ['10.244.0.7'], conditions: {} }] },
      {},
    ];
    expect(readyEndpointAddresses(slices)).toEqual(['10.244.0.5', '10.244.0.7']);
  });

  it('builds the in-cluster URL the stub resolves to', () => {
    expect(inClusterUrl('compress-all-service', 'demo')).toBe('http://compress-all-service.demo.svc:80');
  });
});
