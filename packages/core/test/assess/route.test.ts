import {
  assess,
  isUpgradeKitError,
  loadRelease,
  planRoute,
  type ReleaseProblem,
  renderAssessmentMarkdown,
  renderAssessmentText,
} from '@upgradekit/core';
import { describe, expect, it } from 'vitest';
import { writeRelease } from './support.js';

const MANIFEST = `component: billing
datasources:
  main: { type: mariadb }
defaults:
  datasource: main
compatibility:
  "1.0.0": { direct: ["1.2.0"], progressive: ["1.1.0"] }
  "V1.1.0": { progressive: ["1.3.0"], estimates: { "1.3.0": 10m } }
  "1.2.0": { progressive: ["1.3.0"], estimates: { "1.3.0": 20m } }
`;

function tasks(...list: string[]): string {
  return `tasks:\n${list.map((l) => `  - ${l}\n`).join('')}`;
}

async function billing() {
  return loadRelease(
    writeRelease({
      'upgradekit.yaml': MANIFEST,
      'versions/1.1.0/tasks.yaml': tasks(
        '{ id: add_col, kind: sql, stage: in_stop, file: a.sql, compatibleFrom: 1.1.0 }',
      ),
      'versions/1.1.0/a.sql': 'SELECT 1;',
      'versions/1.2.0/tasks.yaml': tasks(
        '{ id: backfill, kind: sql, stage: post_start, file: a.sql, compatibleFrom: 1.1.0, estimate: { duration: 2m } }',
      ),
      'versions/1.2.0/a.sql': 'SELECT 1;',
      'versions/1.3.0/tasks.yaml': tasks(
        '{ id: cleanup, kind: sql, stage: post_start, file: a.sql, compatibleFrom: 1.0.0 }',
      ),
      'versions/1.3.0/a.sql': 'SELECT 1;',
    }),
  );
}

describe('planRoute: multi-hop upgrades over the release matrix', () => {
  it('loads the matrix canonically, with estimates in ms', async () => {
    const release = await billing();
    expect(release.compatibility).toEqual({
      '1.0.0': { direct: ['1.2.0'], progressive: ['1.1.0'] },
      'V1.1.0': { progressive: ['1.3.0'], estimates: { '1.3.0': 600_000 } },
      '1.2.0': { progressive: ['1.3.0'], estimates: { '1.3.0': 1_200_000 } },
    });
  });

  it('a direct target is one jump with one rollback point', async () => {
    const route = planRoute({ release: await billing(), from: '1.0.0', to: '1.2.0' });
    expect(route.path.mode).toBe('jump');
    expect(route.hops.map((h) => [h.from, h.to, h.rollbackPoint.id])).toEqual([
      ['1.0.0', '1.2.0', 'before-hop-1'],
    ]);
    expect(route.tasks.map((t) => t.id)).toEqual(['add_col', 'backfill']);
  });

  it('several hops: each planned from its own source, each after a rollback point; the shorter estimate wins a tie', async () => {
    const route = planRoute({ release: await billing(), from: '1.0.0', to: '1.3.0', site: 's1' });
    // Two 2-hop routes; via 1.1.0 the second hop is estimated 10m, via 1.2.0 20m.
    expect(route.hops.map((h) => `${h.from}>${h.to}:${h.mode}`)).toEqual([
      '1.0.0>1.1.0:progressive',
      '1.1.0>1.3.0:progressive',
    ]);
    expect(route.hops.map((h) => h.rollbackPoint)).toEqual([
      {
        id: 'before-hop-1',
        version: '1.0.0',
        description: 'full backup of billing at 1.0.0, before upgrading to 1.1.0',
      },
      {
        id: 'before-hop-2',
        version: '1.1.0',
        description: 'full backup of billing at 1.1.0, before upgrading to 1.3.0',
      },
    ]);
    expect(route.tasks.map((t) => t.id)).toEqual(['add_col', 'backfill', 'cleanup']);
    // add_col needs 1.1.0 running: the first hop stops, the second can roll.
    expect(route.hops.map((h) => h.plan.mode)).toEqual(['stop', 'rolling']);
    expect(route.mode).toBe('stop');
    expect(route.hops[1]!.plan.site).toBe('s1');
  });

  it('an impossible target names what is reachable', async () => {
    const error = await billing()
      .then((release) => planRoute({ release, from: '1.2.0', to: '1.4.0' }))
      .catch((e: unknown) => e);
    expect(isUpgradeKitError(error, 'UPGRADEKIT_NO_UPGRADE_PATH')).toBe(true);
    expect((error as Error).message).toContain('From 1.2.0 the matrix reaches: 1.3.0');
  });

  it('assessing a route reports the path, per-hop compatibility and per-hop stage estimates', async () => {
    const release = await billing();
    const report = await assess(planRoute({ release, from: '1.0.0', to: '1.3.0' }), {
      release,
      local: false,
    });
    expect(report.route?.hops.map((h) => [h.from, h.to, h.upgradeMode, h.tasks, h.rollbackPoint.id])).toEqual(
      [
        ['1.0.0', '1.1.0', 'stop', 1, 'before-hop-1'],
        ['1.1.0', '1.3.0', 'rolling', 2, 'before-hop-2'],
      ],
    );
    expect(report.compatibility.incompatible).toEqual([
      expect.objectContaining({
        item: 'a.sql',
        hop: 0,
        compatibleFrom: '1.1.0',
        reason: 'compatible from 1.1.0 only; running 1.0.0',
      }),
    ]);
    expect(report.duration.stages.map((s) => [s.hop, s.stage, s.durationMs])).toEqual([
      [0, 'in_stop', 0],
      [1, 'post_start', 120_000],
    ]);
    expect(report.duration.unestimated).toEqual(['add_col', 'cleanup']);
    // Tasks without an estimate are not 0ms: a stage of them has none, a total says it left them out.
    const text = renderAssessmentText(report);
    expect(text).toContain('  hop 1 in_stop (preStart, serial): no estimate\n');
    expect(text).toMatch(
      /Estimated duration: total 2m00s, services stopped for an unknown time \(no estimate\); .*2 tasks without an estimate left out/,
    );
    expect(text).toContain(
      'hop 2 post_start (postStart, serial): at least 2m00s (1 of 2 tasks without an estimate)',
    );
    expect(text).not.toContain('in_stop (preStart, serial): 0ms');
    expect(renderAssessmentText(report)).toContain(
      '2. 1.1.0 → 1.3.0 (progressive, rolling mode, 2 tasks, ~10m00s) — rollback point before-hop-2 at 1.1.0',
    );
    expect(renderAssessmentMarkdown(report)).toContain(
      '| 2 | 1.1.0 | 1.3.0 | progressive | rolling | 2 | before-hop-2 (1.1.0) |',
    );
  });
});

describe('the release manifest: assessment fields are checked with file, line and field', () => {
  async function problems(manifest: string): Promise<ReleaseProblem[]> {
    const error = await loadRelease(writeRelease({ 'upgradekit.yaml': manifest })).catch((e: unknown) => e);
    expect(isUpgradeKitError(error, 'UPGRADEKIT_BAD_INPUT'), String(error)).toBe(true);
    return (error as { context: { problems: ReleaseProblem[] } }).context.problems;
  }

  it('names bad quality checks', async () => {
    const checks = `component: c
datasources:
  main: { type: mariadb }
dataQuality:
  - id: a
    datasource: main
    sql: SELECT 1
    versions: 2.16.9~2.16.5
  - id: a
    datasource: nowhere
    sql: SELECT 1
  - id: b
    sql: SELECT 1
`;
    const found = await problems(`${checks}    severity: fatal\n`);
    // Shape first: a check that does not parse is reported alone, at its line.
    expect(found.map((p) => `${p.line} ${p.field}: ${p.message}`)).toEqual([
      '14 dataQuality[2].severity: Invalid option: expected one of "error"|"warning" (got "fatal")',
    ]);
    const later = await problems(checks);
    expect(later.map((p) => `${p.line} ${p.field}: ${p.message}`)).toEqual([
      expect.stringMatching(/^8 dataQuality\[0\]\.versions: .*lower end is above the upper end/),
      '9 dataQuality[1].id: duplicate check id "a"',
      '10 dataQuality[1].datasource: unknown datasource "nowhere"; upgradekit.yaml declares: main',
      '12 dataQuality[2].datasource: no datasource: set `datasource` on the check or `defaults.datasource`',
    ]);
  });

  it('names bad matrix entries, including a hop that goes down', async () => {
    const found = await problems(`component: c
compatibility:
  "1.0.0": { progressive: ["1.1.0"] }
  "1.1.0":
    progressive: ["1.0.0", "one"]
`);
    expect(found.map((p) => `${p.line} ${p.field}: ${p.message}`)).toEqual([
      '5 compatibility.1.1.0.progressive: "one" is not a version',
      '5 compatibility.1.1.0.progressive: 1.1.0 → 1.0.0 does not go up: a hop must lead to a newer version (going back is a rollback)',
    ]);
  });

  it('loads task estimates and resources', async () => {
    const release = await loadRelease(
      writeRelease({
        'upgradekit.yaml':
          'component: c\ndatasources:\n  main: { type: postgres }\ndefaults: { datasource: main }\n',
        'versions/1.0.0/tasks.yaml': tasks(
          '{ id: t, kind: sql, stage: pre_stop, file: a.sql, estimate: { query: "SELECT 1", unit: bytes, rate: 1000, parallel: true }, resources: { disk: 1.5GiB, memory: 512MB } }',
        ),
        'versions/1.0.0/a.sql': 'SELECT 1;',
      }),
    );
    expect(release.tasks[0]!.estimate).toEqual({
      query: 'SELECT 1',
      unit: 'bytes',
      rate: 1000,
      parallel: true,
    });
    expect(release.tasks[0]!.resources).toEqual({ diskBytes: 1.5 * 1024 ** 3, memoryBytes: 512_000_000 });
  });
});
