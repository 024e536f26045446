// The one input schema of every command: each rule once, for the CLI's flags and the Action's
// string inputs alike, every problem named as that surface's user typed it.
import { describe, expect, it } from 'vitest';
import { parseCommandInput, type RawCommandInput, type Surface } from '../../src/index.js';

const problems = (raw: RawCommandInput, surface: Surface = 'cli'): string[] => {
  try {
    parseCommandInput(raw, surface);
  } catch (error) {
    expect((error as { code?: string }).code).toBe('UPGRADEKIT_BAD_INPUT');
    return (error as { context: { problems: string[] } }).context.problems;
  }
  throw new Error('expected bad input');
};

describe('parseCommandInput', () => {
  it('plan, assess, run and backup need --release, --from and --to; all missing ones at once', () => {
    expect(problems({ command: 'run' })).toEqual([
      '--release is required: the release (upgrade package) directory',
      '--from is required for run: the version running now, e.g. 2.16.5',
      '--to is required for run: the version to upgrade to, e.g. 2.16.7',
    ]);
    expect(problems({ command: 'backup', release: 'r', from: '1.0.0' }, 'action')).toEqual([
      '`to` is required for backup: the version to upgrade to, e.g. 2.16.7',
    ]);
  });

  it('status and resolve take both versions or neither', () => {
    expect(parseCommandInput({ command: 'status', release: 'r' })).toEqual({
      command: 'status',
      release: 'r',
      yes: false,
    });
    expect(problems({ command: 'status', release: 'r', from: '1.0.0' })[0]).toMatch(
      /^--from and --to: give both or neither/,
    );
  });

  it('booleans: the Action’s strings and the parser’s booleans mean the same; anything else is refused', () => {
    const base = { command: 'run', release: 'r', from: '1.0.0', to: '2.0.0' } as const;
    expect(parseCommandInput({ ...base, dryRun: 'true', yes: '' }, 'action')).toMatchObject({
      dryRun: true,
      yes: false,
    });
    expect(parseCommandInput({ ...base, dryRun: true })).toMatchObject({ dryRun: true });
    expect(problems({ ...base, dryRun: 'yes' }, 'action')).toEqual([
      '`dry-run` must be true or false (got "yes")',
    ]);
  });

  it("a stage is one of the cut-points, or tasks.yaml's name for one", () => {
    expect(
      problems({ command: 'run', release: 'r', from: '1.0.0', to: '2.0.0', stage: 'preStrat' })[0],
    ).toMatch(
      /^--stage: unknown stage "preStrat" — did you mean "preStart"\? Stages are: install, .*preStart \(in_stop\)/,
    );
    expect(
      parseCommandInput({ command: 'run', release: 'r', from: '1.0.0', to: '2.0.0', stage: 'in_stop' }),
    ).toMatchObject({ stage: 'preStart' });
  });

  it('resolve: exactly one decision; --from-statement a whole number ≥ 1', () => {
    expect(
      parseCommandInput({ command: 'resolve', release: 'r', task: 't', fromStatement: '3' }),
    ).toMatchObject({
      decision: { kind: 'from', position: 3 },
    });
    expect(problems({ command: 'resolve', release: 'r', task: 't', applied: true, retry: 'true' })).toEqual([
      'say what happened to the task: exactly one of --applied, --retry, --restart or --from-statement N',
    ]);
    expect(problems({ command: 'resolve', release: 'r', task: 't', fromStatement: '0' })).toEqual([
      '--from-statement must be a whole number ≥ 1 (got "0")',
    ]);
    expect(problems({ command: 'resolve', release: 'r', retry: true })).toEqual([
      '<task> is required: the step or task id to resolve',
    ]);
  });

  it('rollback: a backup id or latest, a step from 1 to 6, and one of --compatible / --full', () => {
    expect(
      parseCommandInput({ command: 'rollback', action: 'manual', backup: 'backup_20240101_120000' }),
    ).toMatchObject({
      action: 'manual',
      backup: 'backup_20240101_120000',
      compatible: 'auto',
    });
    expect(problems({ command: 'rollback', backup: '../etc' })[0]).toMatch(/^"\.\.\/etc" is not a backup id/);
    expect(problems({ command: 'rollback', action: 'step', step: '9' })).toEqual([
      '<n>: the step must be a number from 1 to 6 (got "9")',
    ]);
    expect(problems({ command: 'rollback', compatible: true, full: true })).toEqual([
      '--compatible and --full: give one or the other',
    ]);
    expect(parseCommandInput({ command: 'rollback', compatible: 'false' }, 'action')).toMatchObject({
      compatible: false,
    });
    expect(parseCommandInput({ command: 'rollback', full: true })).toMatchObject({ compatible: false });
  });

  it('an unknown command says which there are, and what else is missing', () => {
    expect(problems({ command: 'deploy' }, 'action')).toEqual([
      '`command` must be one of plan, assess, run, status, resolve, backup, rollback (got "deploy")',
      '`release` is required: the release (upgrade package) directory',
    ]);
  });
});
