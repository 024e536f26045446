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

  describe('an orchestration override across versions', () => {
    const override = { file: 'versions/2.16.7/upgrade_orchestration_V2.16.7.properties', line: 4 };
    // The shape of examples/mariadb-clickhouse before its fix: 2.16.7's ALTER moved to pre_stop,
    // 2.16.6's CREATE of the same table still in in_stop.
    const seedLike = (extra: Partial<Task> = {}, older: Partial<Task> = {}): Release => ({
      ...release,
      versions: ['2.16.6', '2.16.7'],
      tasks: [
        task('create_orders', '2.16.6', { datasource: 'main' }),
        task('create_order_events', '2.16.6', { datasource: 'events', ...older }),
        task('add_order_note', '2.16.7', { datasource: 'main' }),
        task('add_event_channel', '2.16.7', {
          datasource: 'events',
          stage: 'pre_stop',
          stageOverride: override,
          ...extra,
        }),
      ],
    });

    it('warns when it puts a task ahead of an older version’s task on the same datasource', () => {
      const p = plan({ release: seedLike(), from: '2.16.5', to: '2.16.7' });
      expect(p.orderWarnings).toEqual([
        {
          code: 'PLAN_STAGE_ORDER',
          task: { id: 'add_event_channel', version: '2.16.7', stage: 'pre_stop', datasource: 'events' },
          override,
          runsBefore: [
            { id: 'create_order_events', version: '2.16.6', stage: 'in_stop', datasource: 'events' },
          ],
          message:
            'add_event_channel (2.16.7) runs in pre_stop (preUpgrade), set by versions/2.16.7/upgrade_orchestration_V2.16.7.properties:4, before older work on datasource events it may need: create_order_events (2.16.6, in_stop)',
        },
      ]);
      // The order the stages give: the ALTER first.
      expect(p.stages.preUpgrade.map((t) => t.id)).toEqual(['add_event_channel']);
    });

    it('is silent one version at a time, once the older task runs as early, or on another datasource', () => {
      expect(plan({ release: seedLike(), from: '2.16.6', to: '2.16.7' }).orderWarnings).toEqual([]);
      const fixed = seedLike({}, { stage: 'pre_stop' });
      expect(plan({ release: fixed, from: '2.16.5', to: '2.16.7' }).orderWarnings).toEqual([]);
      const elsewhere = seedLike({ datasource: 'audit' });
      expect(plan({ release: elsewhere, from: '2.16.5', to: '2.16.7' }).orderWarnings).toEqual([]);
    });

    it('judges only overrides: a stage declared with the task is the order its author chose', () => {
      const declared = seedLike({ stageOverride: undefined });
      expect(plan({ release: declared, from: '2.16.5', to: '2.16.7' }).orderWarnings).toEqual([]);
    });

    it('counts a task without a datasource (a tool gets them all) as touching every datasource', () => {
      const tool = seedLike({ kind: 'tool', datasource: undefined });
      const [w] = plan({ release: tool, from: '2.16.5', to: '2.16.7' }).orderWarnings;
      expect(w?.runsBefore.map((r) => r.id)).toEqual(['create_orders', 'create_order_events']);
      expect(w?.message).toContain('before older work on any datasource');
    });

    it('leaves out older tasks this site does not run', () => {
      const excluded = seedLike({}, { sites: { exclude: ['site-9'] } });
      expect(plan({ release: excluded, from: '2.16.5', to: '2.16.7', site: 'site-9' }).orderWarnings).toEqual(
        [],
      );
    });
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
