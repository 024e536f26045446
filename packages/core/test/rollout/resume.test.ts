// SIGKILL a real orchestrator process in the middle of a rollout (one host's service stopped, its
// new version not yet installed), then run it again: it continues with the hosts not yet done.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveRolloutHost, StateStore } from '@upgradekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireService } from '#test-support';
import { allAt, SERVICE, startTestBed, type TestBed, type TestHost } from './support.js';

const hasSshd = await requireService('sshd');
const ORCHESTRATOR = fileURLToPath(new URL('./fixtures/orchestrator.mjs', import.meta.url));

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  result?: {
    status: string;
    hosts: { name: string; status: string; version: string; attempt: number }[];
    error?: { code: string; message: string };
  };
}

describe.runIf(hasSshd)('a rollout resumes after its orchestrator is SIGKILLed', () => {
  let bed: TestBed;
  let stateFile: string;
  beforeAll(async () => {
    bed = await startTestBed([[], [], [], []]);
    stateFile = join(bed.hosts[0]!.vars.dir, '..', 'state.sqlite');
  });
  afterAll(() => bed?.stop());

  /** Runs the orchestrator; with `killWhen`, SIGKILLs it as soon as that line appears. */
  function orchestrate(env: Record<string, string>, killWhen?: string): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [ORCHESTRATOR], {
        env: {
          ...process.env,
          STATE: stateFile,
          HOSTS: JSON.stringify(bed.hosts),
          TO: '2.0.0',
          FIXTURE: SERVICE,
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
        if (killWhen && stdout.includes(killWhen)) child.kill('SIGKILL');
      });
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        const last = stdout.trim().split('\n').at(-1) ?? '';
        resolve({
          code,
          signal,
          stdout,
          stderr,
          ...(last.startsWith('{') ? { result: JSON.parse(last) } : {}),
        });
      });
    });
  }

  const upgradesOf = (host: TestHost) => {
    try {
      return readFileSync(join(host.vars.dir, 'upgrades.log'), 'utf8').trim().split('\n').length;
    } catch {
      return 0;
    }
  };
  const counts = () => Object.fromEntries(bed.hosts.map((h) => [h.name, upgradesOf(h)]));

  it('with a skipIf check: the interrupted host is upgraded again, the done ones are not', async () => {
    await bed.reset('1.0.0');
    const killed = await orchestrate({ SITE: 'site-a', SLOW_HOST: 'app-3' }, 'UPGRADING app-3');
    expect(killed.signal).toBe('SIGKILL');
    // Killed with app-3's old service stopped and its new version not installed.
    expect(await bed.versions()).toEqual({
      'app-1': '2.0.0',
      'app-2': '2.0.0',
      'app-3': 'down',
      'app-4': '1.0.0',
    });

    const resumed = await orchestrate({ SITE: 'site-a' });
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    expect(resumed.result!.status).toBe('succeeded');
    expect(resumed.result!.hosts.map((h) => [h.name, h.status, h.version, h.attempt])).toEqual([
      ['app-1', 'already-done', '2.0.0', 1],
      ['app-2', 'already-done', '2.0.0', 1],
      ['app-3', 'upgraded', '2.0.0', 2],
      ['app-4', 'upgraded', '2.0.0', 1],
    ]);
    expect(counts()).toEqual({ 'app-1': 1, 'app-2': 1, 'app-3': 2, 'app-4': 1 });
    expect(await bed.versions()).toEqual(allAt('2.0.0'));

    const state = await StateStore.open({ filename: stateFile });
    try {
      const log = await state.log({ component: 'demo', site: 'site-a' });
      expect(log.map((r) => [r.host, r.status, r.attempt])).toEqual([
        ['app-1', 'succeeded', 1],
        ['app-2', 'succeeded', 1],
        ['app-3', 'running', 1], // the killed attempt, left as it was
        ['app-3', 'succeeded', 2],
        ['app-4', 'succeeded', 1],
      ]);
      expect(new Set(log.map((r) => r.runId)).size).toBe(2);
    } finally {
      await state.close();
    }
  });

  it('without one: the run stops, names the host in doubt and touches nothing until an operator decides', async () => {
    await bed.reset('1.0.0');
    const killed = await orchestrate(
      { SITE: 'site-b', SLOW_HOST: 'app-2', ROLLOUT_MODE: 'strict' },
      'UPGRADING app-2',
    );
    expect(killed.signal).toBe('SIGKILL');

    const blocked = await orchestrate({ SITE: 'site-b', ROLLOUT_MODE: 'strict' });
    expect(blocked.code).toBe(3);
    expect(blocked.result!.status).toBe('needs-decision');
    expect(blocked.result!.error!.code).toBe('UPGRADEKIT_IN_DOUBT');
    expect(blocked.result!.error!.message).toContain('interrupted while upgrading app-2');
    expect(blocked.result!.hosts.map((h) => [h.name, h.status, h.version])).toEqual([
      ['app-1', 'already-done', '2.0.0'],
      ['app-2', 'in_doubt', 'unknown'], // its service is down: nothing answers
      ['app-3', 'untouched', '1.0.0'],
      ['app-4', 'untouched', '1.0.0'],
    ]);
    expect(counts()).toEqual({ 'app-1': 1, 'app-2': 1, 'app-3': 0, 'app-4': 0 });

    const state = await StateStore.open({ filename: stateFile });
    await resolveRolloutHost(
      state,
      { id: 'rollout:demo', component: 'demo', site: 'site-b', from: '1.0.0', to: '2.0.0' },
      'app-2',
      'retry',
    );
    await state.close();

    const finished = await orchestrate({ SITE: 'site-b', ROLLOUT_MODE: 'strict' });
    expect(finished.code, finished.stderr).toBe(0);
    expect(finished.result!.hosts.map((h) => [h.name, h.status])).toEqual([
      ['app-1', 'already-done'],
      ['app-2', 'upgraded'],
      ['app-3', 'upgraded'],
      ['app-4', 'upgraded'],
    ]);
    expect(counts()).toEqual({ 'app-1': 1, 'app-2': 2, 'app-3': 1, 'app-4': 1 });
    expect(await bed.versions()).toEqual(allAt('2.0.0'));
  });
});
