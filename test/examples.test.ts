// The examples are documentation that runs: the team script upgrades the demo, and the workflow
// files use only the inputs and outputs action.yml declares, one concurrency group per site.

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { spawnAsync } from '#test-support';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('examples/team-script', () => {
  it('registers hooks beside the release tasks, runs all stages, and resumes as a no-op', async () => {
    const workdir = mkdtempSync(join(tmpdir(), 'uk-team-'));
    const run = () =>
      spawnAsync(process.execPath, ['--import', 'tsx', 'examples/team-script/upgrade.ts', workdir], {
        cwd: root,
        env: { ...process.env, CI: 'true' },
        timeout: 60_000,
      });
    const first = await run();
    expect(first.status, first.stderr).toBe(0);
    for (const line of [
      '[SUCCESS] disk-free',
      '[SUCCESS] migrate-app-config',
      '[SUCCESS] smoke-test',
      'result: succeeded',
    ]) {
      expect(first.stdout).toContain(line);
    }
    expect(readFileSync(join(workdir, 'app/app.properties'), 'utf8')).toContain('config.version=2');
    const second = await run();
    expect(second.status).toBe(0);
    expect(second.stdout).toContain('[SKIPPED] migrate-app-config (already done');
    expect(second.stdout).not.toContain('[SUCCESS]');

    // The operator's `status` knows only the release, yet shows the script's hooks too (issue 22).
    const status = await spawnAsync(
      process.execPath,
      [
        join(root, 'packages/cli/bin/upgradekit.js'),
        'status',
        '--release',
        join(root, 'examples/demo'),
        '--site',
        'site-042',
        '--json',
      ],
      { cwd: workdir, timeout: 60_000 },
    );
    expect(status.status, status.stderr).toBe(0);
    const steps = JSON.parse(status.stdout).report.steps as {
      id: string;
      status: string;
      registered?: boolean;
    }[];
    for (const hook of ['disk-free', 'migrate-app-config', 'smoke-test'])
      expect(steps.find((s) => s.id === hook)).toMatchObject({ status: 'succeeded', registered: false });
    expect(steps.filter((s) => s.registered !== false).length).toBeGreaterThan(0); // the release's own
  });
});

interface Step {
  uses?: string;
  id?: string;
  with?: Record<string, unknown>;
}

describe.each(['github-workflow.yml', 'gitea-workflow.yml'])('examples/%s', (file) => {
  const action = parse(readFileSync(join(root, 'action.yml'), 'utf8')) as {
    inputs: Record<string, { required?: boolean }>;
    outputs: Record<string, unknown>;
  };
  const text = readFileSync(join(root, 'examples', file), 'utf8');
  const workflow = parse(text) as {
    jobs: Record<string, { concurrency: { group: string; 'cancel-in-progress': boolean }; steps: Step[] }>;
  };
  const job = workflow.jobs.upgrade;

  it('passes only inputs the action declares, and every required one', () => {
    const steps = (job?.steps ?? []).filter((s) => s.uses && /upgradekit@v1$/.test(s.uses));
    expect(steps.length).toBeGreaterThanOrEqual(4);
    for (const step of steps) {
      for (const key of Object.keys(step.with ?? {})) expect(Object.keys(action.inputs)).toContain(key);
      for (const [name, input] of Object.entries(action.inputs)) {
        if (input.required && !('default' in input))
          expect(step.with, `${name} in ${file}`).toHaveProperty(name);
      }
      const stage = step.with?.stage;
      if (stage !== undefined) {
        expect([
          'install',
          'resourceCheck',
          'businessCheck',
          'preUpgrade',
          'preStart',
          'postStart',
          'openTraffic',
          'postUpgrade',
        ]).toContain(stage);
      }
    }
  });

  it('assesses before the first run, and rolls back once on failure', () => {
    const commands = (job?.steps ?? [])
      .filter((s) => s.uses && /upgradekit@v1$/.test(s.uses))
      .map((s) => String(s.with?.command));
    expect(commands.indexOf('assess')).toBeGreaterThan(-1);
    expect(commands.indexOf('assess')).toBeLessThan(commands.indexOf('run'));
    expect(commands.filter((c) => c === 'rollback')).toHaveLength(1);
    // `command` is required and has no default: every step names it.
    expect(action.inputs.command).toMatchObject({ required: true });
    expect(action.inputs.command).not.toHaveProperty('default');
  });

  it('reads only outputs the action declares', () => {
    for (const m of text.matchAll(/steps\.plan\.outputs\.([\w-]+)/g)) {
      expect(Object.keys(action.outputs)).toContain(m[1]);
    }
  });

  it('serialises each site with its own concurrency group, never cancelling a running upgrade', () => {
    expect(job?.concurrency.group).toMatch(/\$\{\{ matrix\.site \}\}/);
    expect(job?.concurrency['cancel-in-progress']).toBe(false);
  });
});
