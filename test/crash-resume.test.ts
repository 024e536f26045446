import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StateStore } from '@upgradekit/core';
import { describe, expect, it } from 'vitest';
import { requireService, runNode, suiteDatabase } from '#test-support';

const fixture = fileURLToPath(new URL('./fixtures/crash-pipeline.mjs', import.meta.url));
const STEPS = Array.from({ length: 20 }, (_, i) => `s${String(i + 1).padStart(2, '0')}`);
const ALL_POINTS = STEPS.flatMap((s) => ['start', 'mid', 'end'].map((phase) => `${s}:${phase}`));
// `npm test` kills once in every step, the phase turning start → mid → end from step to step (20
// points); `npm run test:soak` (UPGRADEKIT_CRASH_ALL=1) kills at all 60.
const KILL_POINTS =
  process.env.UPGRADEKIT_CRASH_ALL === '1'
    ? ALL_POINTS
    : ALL_POINTS.filter((_, i) => i % 3 === Math.floor(i / 3) % 3);
const hasMariaDB = await requireService('mariadb');

interface Child {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runChild(env: Record<string, string>, killAfterMs?: number): Promise<Child> {
  return runNode(fixture, env, killAfterMs);
}

async function pool<T>(items: readonly T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: size }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
    }),
  );
}

interface Backend {
  name: string;
  env(site: string, dir: string): Record<string, string>;
  store(dir: string): Promise<StateStore>;
}

/** Effects on disk, state rows and the audit log after a resumed run: the invariants. */
async function checkEndState(
  backend: Backend,
  dir: string,
  site: string,
  expectedExecutions?: Map<string, number>,
) {
  // Effects: exactly the 20 files of an uninterrupted run, each with its content.
  const effects = readdirSync(dir)
    .filter((f) => /^s\d\d$/.test(f))
    .sort();
  expect(effects).toEqual(STEPS);
  for (const id of STEPS) expect(readFileSync(join(dir, id), 'utf8')).toBe(`${id} done\n`);

  const store = await backend.store(dir);
  try {
    const states = [...(await store.loadSteps('crash-demo', site)).values()];
    expect(states.map((s) => s.taskId).sort()).toEqual(STEPS);
    expect(states.filter((s) => s.status !== 'succeeded' && s.status !== 'skipped')).toEqual([]);

    // No step ran after its success was recorded.
    const log = await store.log({ component: 'crash-demo', site });
    for (const id of STEPS) {
      const rows = log.filter((r) => r.taskId === id);
      const success = rows.find((r) => r.status === 'succeeded');
      if (success) {
        const later = rows.filter((r) => r.id > success.id && r.status === 'running');
        expect(later, `${id} ran again after succeeding`).toEqual([]);
      }
    }
  } finally {
    await store.close();
  }

  const executions = readFileSync(join(dir, 'executions.log'), 'utf8').trimEnd().split('\n');
  const counts = new Map<string, number>();
  for (const line of executions) {
    const id = line.split(' ')[1]!;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  if (expectedExecutions) expect(Object.fromEntries(counts)).toEqual(Object.fromEntries(expectedExecutions));
  return counts;
}

function suite(backend: () => Backend) {
  it('an uninterrupted run is the reference: every step once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uk-crash-'));
    const result = await runChild(backend().env('reference', dir));
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'succeeded' });
    await checkEndState(backend(), dir, 'reference', new Map(STEPS.map((s) => [s, 1])));
  });

  it(`resumes after a SIGKILL at each of ${KILL_POINTS.length} points, never repeating a succeeded step`, async () => {
    const failures: string[] = [];
    await pool(KILL_POINTS, 3, async (point) => {
      const site = `kill-${point.replace(':', '-')}`;
      const dir = mkdtempSync(join(tmpdir(), 'uk-crash-'));
      const env = backend().env(site, dir);
      const killed = await runChild({ ...env, KILL_AT: point });
      if (killed.signal !== 'SIGKILL')
        failures.push(`${point}: expected SIGKILL, got ${killed.code}/${killed.signal} ${killed.stderr}`);
      const resumed = await runChild(env);
      if (resumed.code !== 0) {
        failures.push(`${point}: resume exited ${resumed.code}: ${resumed.stdout} ${resumed.stderr}`);
        return;
      }
      const [step, phase] = point.split(':') as [string, string];
      const odd = Number(step.slice(1)) % 2 === 1;
      // Killed inside an idempotent step: it runs again. Anything else runs exactly once.
      const expected = new Map(STEPS.map((s) => [s, s === step && phase === 'mid' && odd ? 2 : 1]));
      await checkEndState(backend(), dir, site, expected);
    });
    expect(failures).toEqual([]);
  }, 240_000);

  it('resumes after SIGKILLs at random moments', async () => {
    const sites = Array.from({ length: 6 }, (_, i) => `random-${i}`);
    await pool(sites, 3, async (site) => {
      const dir = mkdtempSync(join(tmpdir(), 'uk-crash-'));
      const env = { ...backend().env(site, dir), STEP_MS: '15' };
      let kills = 0;
      for (;;) {
        const run = await runChild(env, kills < 4 ? 200 + Math.floor(Math.random() * 400) : undefined);
        if (run.signal === 'SIGKILL') {
          kills++;
          continue;
        }
        expect(run.code, run.stdout + run.stderr).toBe(0);
        break;
      }
      const counts = await checkEndState(backend(), dir, site);
      // A step is re-executed only when a kill interrupted it: at most once per kill.
      for (const [id, n] of counts) expect(n, id).toBeLessThanOrEqual(1 + kills);
    });
  }, 240_000);

  it('stops on an in-doubt step until an operator resolves it', async () => {
    const site = 'in-doubt';
    const dir = mkdtempSync(join(tmpdir(), 'uk-crash-'));
    const env = { ...backend().env(site, dir), INDOUBT_STEP: 's09' };
    expect((await runChild({ ...env, KILL_AT: 's09:mid' })).signal).toBe('SIGKILL');
    const blocked = await runChild(env);
    expect(blocked.code).toBe(3);
    const report = JSON.parse(blocked.stdout);
    expect(report).toMatchObject({ status: 'needs-decision', code: 'UPGRADEKIT_IN_DOUBT' });
    expect(report.error).toMatch(/Step "s09" \(stage preUpgrade\): interrupted in run /);
    expect(report.error).toMatch(/resolve/);
    // Still blocked on a second try: nothing after s09 ran.
    expect((await runChild(env)).code).toBe(3);
    const resolved = await runChild({ ...env, RESOLVE: 's09:applied' });
    expect(resolved.code, resolved.stdout + resolved.stderr).toBe(0);
    const counts = await checkEndState(backend(), dir, site);
    expect(counts.get('s09')).toBe(1);
  });
}

describe('crash and resume on SQLite', () => {
  suite(() => ({
    name: 'sqlite',
    env: (site, dir) => ({ OUT: dir, SITE: site, STATE_SQLITE: join(dir, 'state.sqlite') }),
    store: (dir) => StateStore.open({ filename: join(dir, 'state.sqlite') }),
  }));
});

describe.runIf(hasMariaDB)('crash and resume on MariaDB', () => {
  const db = suiteDatabase('mariadb', 'uk_crash');
  suite(() => ({
    name: 'mariadb',
    env: (site, dir) => ({ OUT: dir, SITE: site, STATE_MYSQL: JSON.stringify(db.connection) }),
    store: () => StateStore.open({ config: db.config }),
  }));
});
