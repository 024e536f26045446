// Issue 17: the CLI and the Action are two mappings of the same core commands. Every command goes
// through both — the built `upgradekit` bin with --json, and the committed Action bundle with
// INPUT_* variables — on the same release and site (each in a PostgreSQL state and data database
// of its own, so that neither sees the other's runs), and must give the same status, exit class
// and JSON document.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  LEDGER_RELEASE,
  requireService,
  siteYaml,
  type TestDatabase,
  writeFiles,
} from '#test-support';
import { action } from '../packages/action/test/support.js';
import { cli } from '../packages/cli/test/support.js';

const hasPostgres = await requireService('postgres');

/** One command as core's input names it; the CLI's argv and the Action's inputs are made from it. */
interface Step {
  readonly name: string;
  readonly input: Record<string, string | boolean>;
}

const UP = { release: 'release', config: 'site.yaml', from: '1.0.0', to: '2.0.0' };
const NEXT = { release: 'release', config: 'site.yaml', from: '2.0.0', to: '2.1.0' };
const STEPS: Step[] = [
  { name: 'plan', input: { command: 'plan', ...UP } },
  { name: 'status before any run', input: { command: 'status', release: 'release', config: 'site.yaml' } },
  { name: 'assess', input: { command: 'assess', ...UP } },
  { name: 'run --dry-run', input: { command: 'run', ...UP, dryRun: true } },
  { name: 'backup', input: { command: 'backup', ...UP } },
  { name: 'run', input: { command: 'run', ...UP } },
  { name: 'run again', input: { command: 'run', ...UP } },
  { name: 'status after the run', input: { command: 'status', ...UP } },
  { name: 'run a failing stage', input: { command: 'run', ...NEXT, stage: 'preUpgrade' } },
  { name: 'status of the failed run', input: { command: 'status', release: 'release', config: 'site.yaml' } },
  { name: 'resolve --applied', input: { command: 'resolve', ...NEXT, task: 'broken', applied: true } },
  {
    name: 'resolve with two decisions',
    input: { command: 'resolve', ...NEXT, task: 'broken', applied: true, retry: true },
  },
  {
    name: 'rollback list',
    input: { command: 'rollback', rollback: 'list', release: 'release', config: 'site.yaml' },
  },
  {
    name: 'rollback status',
    input: { command: 'rollback', rollback: 'status', release: 'release', config: 'site.yaml' },
  },
  {
    name: 'rollback auto',
    input: { command: 'rollback', rollback: 'auto', release: 'release', config: 'site.yaml' },
  },
  {
    name: 'rollback a bad backup id',
    input: { command: 'rollback', backup: '../etc', release: 'release', config: 'site.yaml' },
  },
  {
    name: 'run without --to',
    input: { command: 'run', release: 'release', config: 'site.yaml', from: '1.0.0' },
  },
];

/** The CLI's argv for a step: positionals where the CLI has them, flags for the rest. */
function argv(input: Step['input']): string[] {
  const { command, rollback, task, backup, ...rest } = input;
  const head =
    command === 'rollback'
      ? ['rollback', String(rollback ?? 'auto'), ...(backup ? [String(backup)] : [])]
      : command === 'resolve'
        ? ['resolve', String(task)]
        : [String(command)];
  const flags = Object.entries(rest).flatMap(([k, v]) => {
    const flag = `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    return v === true ? [flag] : [flag, String(v)];
  });
  return [...head, ...flags, '--json'];
}

/** The Action's inputs for a step, as a workflow's `with:` gives them: strings, kebab-case. */
function inputs(input: Step['input']): Record<string, string> {
  return Object.fromEntries(
    Object.entries(input).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), String(v)]),
  );
}

interface Lane {
  readonly dir: string;
  readonly data: TestDatabase;
  readonly state: TestDatabase;
}

async function lane(name: string): Promise<Lane> {
  const [data, state] = await Promise.all([
    createTestDatabase('postgres', `uk_parity_${name}_data`),
    createTestDatabase('postgres', `uk_parity_${name}_state`),
  ]);
  const dir = mkdtempSync(join(tmpdir(), `uk-parity-${name}-`));
  writeFiles(dir, {
    ...LEDGER_RELEASE,
    'site.yaml': siteYaml({ site: 'site-7', data, state, relaxed: true, backupRoot: 'backups' }),
  });
  return { dir, data, state };
}

/**
 * What two runs of the same command cannot share: times, durations, ids, pids, the lane's own
 * directory and database names, checksums of what differs by those names, measured sizes. Everything else — keys, statuses, messages, order —
 * must be equal.
 */
function comparable(document: unknown, own: Lane): unknown {
  const names = [own.dir, own.data.connection.database, own.state.connection.database].map(String);
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (value && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]));
    if (typeof value === 'number') return '<n>';
    if (typeof value !== 'string') return value;
    let s = value;
    for (const name of names) s = s.split(name).join('<lane>');
    // Each surface names a field as its user types it: `--from-statement` here, `from-statement` there.
    return s
      .replace(/`([a-z-]+)`|\[([a-z-]+)\]|<([a-z-]+)>/g, '$1$2$3')
      .replace(/--([a-z-]+)/g, '$1')
      .replace(/\b[0-9a-f]{64}\b/g, '<sha256>')
      .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, '<uuid>')
      .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<time>')
      .replace(/\b(run|rb|backup|rollback)_[\w-]+/g, '$1_<id>')
      .replace(/\d+(\.\d+)?/g, '#');
  };
  return walk(document);
}

describe.runIf(hasPostgres)('the CLI and the Action give the same result for every command', () => {
  let cliLane: Lane;
  let actionLane: Lane;
  beforeAll(async () => {
    [cliLane, actionLane] = await Promise.all([lane('cli'), lane('action')]);
  });
  afterAll(async () => {
    await Promise.all([cliLane, actionLane].flatMap((l) => (l ? [l.data.drop(), l.state.drop()] : [])));
  });
  const env = (l: Lane) => ({
    UK_DB_PW: l.data.connection.password ?? '',
    UK_STATE_PW: l.state.connection.password ?? '',
  });

  it('plan, assess, run, status, resolve, backup and rollback: same status, exit class and document', () => {
    const seen = new Set<string>();
    for (const step of STEPS) {
      const byCli = cli(argv(step.input), { cwd: cliLane.dir, env: env(cliLane) });
      const byAction = action(inputs(step.input), env(actionLane), { cwd: actionLane.dir });
      const where = `${step.name}\n--- CLI ---\n${byCli.stdout}${byCli.stderr}\n--- Action ---\n${byAction.stdout}`;
      const cliDocument = byCli.json() as { status: string; exitClass: string; command: string };
      const actionDocument = JSON.parse(readFileSync(byAction.outputs.report as string, 'utf8')) as {
        status: string;
        exitClass: string;
      };
      expect(byAction.outputs.status, where).toBe(cliDocument.status);
      expect(actionDocument.exitClass, where).toBe(cliDocument.exitClass);
      // The exit code of each surface is its mapping of the class: the CLI's code, the step's outcome.
      const code = { ok: 0, failed: 1, 'bad-input': 2, decision: 3 }[cliDocument.exitClass];
      expect(byCli.status, where).toBe(code);
      expect(byAction.status, where).toBe(cliDocument.exitClass === 'ok' ? 0 : 1);
      expect(comparable(actionDocument, actionLane), where).toEqual(comparable(cliDocument, cliLane));
      seen.add(`${cliDocument.command}:${cliDocument.status}`);
    }
    // The sequence did reach each command and each kind of result it was written for.
    expect([...seen].sort()).toEqual(
      [
        'plan:planned',
        'status:none',
        'assess:pass',
        'run:dry-run',
        'backup:completed',
        'run:succeeded',
        'status:succeeded',
        'run:failed',
        'status:failed',
        'resolve:resolved',
        'resolve:bad-input',
        'rollback:listed',
        'rollback:none',
        'rollback:completed',
        'rollback:bad-input',
        'run:bad-input',
      ].sort(),
    );
  }, 240_000);
});
