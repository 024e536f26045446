import { plan, type Release, type Task } from '@upgradekit/core';
import { describe, expect, it } from 'vitest';

function task(id: string, version: string, extra: Partial<Task> = {}): Task {
  return {
    id,
    version,
    kind: 'sql',
    stage: 'in_stop',
    checksum: id,
    source: { file: 'tasks.yaml', line: 1 },
    compatibleFrom: '2.16.0',
    ...extra,
  };
}

const release: Release = {
  dir: '/r',
  component: 'dr-platform',
  datasources: {},
  defaults: {},
  versions: ['2.16.5', '2.16.6', '2.16.7', '2.16.7-P1', '2.16.8'],
  tasks: [
    task('t565', '2.16.5'),
    task('t566a', '2.16.6', { stage: 'pre_stop' }),
    task('t566b', '2.16.6', { stage: 'post_start', sites: { exclude: ['site-9'] } }),
    task('t567', '2.16.7', { compatibleFrom: '2.16.6' }),
    task('t567p1', '2.16.7-P1', { sites: { include: ['site-1', 'site-2'] } }),
    task('t568', '2.16.8', { compatibleFrom: undefined }),
  ],
};

describe('plan', () => {
  it('selects tasks in (from, to], in version then declaration order, grouped by cut-point', () => {
    const p = plan({ release, from: 'V2.16.5', to: 'V2.16.7-P1', site: 'site-1' });
    expect(p.tasks.map((t) => t.id)).toEqual(['t566a', 't566b', 't567', 't567p1']);
    expect(p.stages.preUpgrade.map((t) => t.id)).toEqual(['t566a']);
    expect(p.stages.preStart.map((t) => t.id)).toEqual(['t567', 't567p1']);
    expect(p.stages.postStart.map((t) => t.id)).toEqual(['t566b']);
    expect(p).toMatchObject({ from: '2.16.5', to: '2.16.7-P1', site: 'site-1', component: 'dr-platform' });
  });

  it('filters by site id (include and exclude), saying why', () => {
    const p = plan({ release, from: '2.16.5', to: '2.16.8', site: 'site-9' });
    expect(p.tasks.map((t) => t.id)).toEqual(['t566a', 't567', 't568']);
    expect(p.excluded).toEqual([
      { id: 't566b', version: '2.16.6', reason: 'site site-9 is in its exclude list' },
      { id: 't567p1', version: '2.16.7-P1', reason: 'site site-9 is not in its include list' },
    ]);
  });

  it('is rolling only when every task is compatible with the running version', () => {
    expect(plan({ release, from: '2.16.6', to: '2.16.7', site: 'site-1' })).toMatchObject({
      mode: 'rolling',
      incompatible: [],
    });
    const p = plan({ release, from: '2.16.5', to: '2.16.8', site: 'site-1' });
    expect(p.mode).toBe('stop');
    expect(p.incompatible).toEqual([
      {
        id: 't567',
        version: '2.16.7',
        compatibleFrom: '2.16.6',
        reason: 'compatible from 2.16.6 only; running 2.16.5',
        needsConfirmation: false,
      },
      {
        id: 't568',
        version: '2.16.8',
        reason: 'no compatibleFrom annotation: treated as incompatible until confirmed',
        needsConfirmation: true,
      },
    ]);
  });

  it('refuses a target that is not above the running version', () => {
    expect(() => plan({ release, from: '2.16.7', to: '2.16.7' })).toThrow(
      /not above the running version 2.16.7; to go back, roll back instead/,
    );
    expect(() => plan({ release, from: '2.16.7', to: 'latest' })).toThrow(/Invalid version "latest"/);
  });

  it('handles 10,000 tasks (bench/plan.bench.ts measures the speed)', () => {
    const many: Release = {
      ...release,
      tasks: Array.from({ length: 10_000 }, (_, i) =>
        task(`t${i}`, `3.${Math.floor(i / 100)}.${i % 100}`, { sites: { exclude: ['x'] } }),
      ),
    };
    const p = plan({ release: many, from: '3.0.0', to: '3.99.99', site: 's' });
    expect(p.tasks).toHaveLength(9_999);
    expect(p.tasks[0]?.id).toBe('t1');
    expect(p.tasks.at(-1)?.id).toBe('t9999');
  });
});
