import { describe, expect, it } from 'vitest';
import { StrategicMergeError, strategicMerge } from './strategic-merge';

const pod = {
  spec: {
    containers: [
      { name: 'fn', image: 'a', env: [{ name: 'A', value: '1' }], ports: [{ name: 'http', containerPort: 8080 }] },
      { name: 'sidecar', image: 'b' },
    ],
    tolerations: [{ key: 'x', operator: 'Exists' }],
    nodeSelector: { pool: 'cpu', zone: 'a' },
  },
};

describe('strategicMerge', () => {
  it('merges maps key by key, and null removes a key', () => {
    expect(strategicMerge(pod, { spec: { nodeSelector: { zone: null, disk: 'ssd' } } })).toMatchObject({
      spec: { nodeSelector: { pool: 'cpu', disk: 'ssd' } },
    });
    expect((strategicMerge(pod, { spec: { nodeSelector: { zone: null } } }) as typeof pod).spec.nodeSelector).toEqual({ pool: 'cpu' });
  });

  it('merges containers by name and their env by name, keeping the rest in order', () => {
    const merged = strategicMerge(pod, {
      spec: {
        containers: [
          {
            name: 'fn',
            env: [
              { name: 'B', value: '2' },
              { name: 'A', value: '3' },
            ],
          },
        ],
      },
    }) as typeof pod;
    expect(merged.spec.containers.map((container) => container.name)).toEqual(['fn', 'sidecar']);
    expect(merged.spec.containers[0]).toMatchObject({
      image: 'a',
      env: [
        { name: 'A', value: '3' },
        { name: 'B', value: '2' },
      ],
    });
  });

  it('appends a new item and removes one marked $patch: delete', () => {
    const merged = strategicMerge(pod, {
      spec: {
        containers: [
          { name: 'sidecar', $patch: 'delete' },
          { name: 'logger', image: 'c' },
        ],
      },
    }) as typeof pod;
    expect(merged.spec.containers.map((container) => container.name)).toEqual(['fn', 'logger']);
  });

  it('replaces lists without a merge key (tolerations) and a list or map marked $patch: replace', () => {
    expect((strategicMerge(pod, { spec: { tolerations: [{ key: 'y', operator: 'Exists' }] } }) as typeof pod).spec.tolerations).toEqual([
      { key: 'y', operator: 'Exists' },
    ]);
    const replaced = strategicMerge(pod, { spec: { containers: [{ $patch: 'replace' }, { name: 'only', image: 'd' }] } }) as typeof pod;
    expect(replaced.spec.containers).toEqual([{ name: 'only', image: 'd' }]);
    expect((strategicMerge(pod, { spec: { nodeSelector: { $patch: 'replace', disk: 'ssd' } } }) as typeof pod).spec.nodeSelector).toEqual({ disk: 'ssd' });
  });

  it("merges a container's ports by containerPort and a Service's by port", () => {
    const container = strategicMerge(pod, { spec: { containers: [{ name: 'fn', ports: [{ containerPort: 9090, name: 'metrics' }] }] } }) as typeof pod;
    expect(container.spec.containers[0].ports).toEqual([
      { name: 'http', containerPort: 8080 },
      { containerPort: 9090, name: 'metrics' },
    ]);
    const service = { spec: { ports: [{ name: 'http', port: 80, targetPort: 'http' }] } };
    expect(strategicMerge(service, { spec: { ports: [{ port: 80, appProtocol: 'http' }] } })).toEqual({
      spec: { ports: [{ name: 'http', port: 80, targetPort: 'http', appProtocol: 'http' }] },
    });
  });

  it('leaves its inputs alone', () => {
    const before = JSON.stringify(pod);
    strategicMerge(pod, { spec: { containers: [{ name: 'fn', image: 'z' }], nodeSelector: null } });
    expect(JSON.stringify(pod)).toBe(before);
  });

  it('says where an item lacks its merge key, or a directive is unknown', () => {
    expect(() => strategicMerge(pod, { spec: { containers: [{ image: 'x' }] } })).toThrow(
      new StrategicMergeError('.spec.containers[0]: an item of this list needs its merge key "name"'),
    );
    expect(() => strategicMerge(pod, { spec: { nodeSelector: { $patch: 'merge-ish' } } })).toThrow(/\.spec\.nodeSelector: unknown \$patch "merge-ish"/);
  });
});
