// What a failed step's summary shows: the whole reason — the rest of its message under the step
// line, such as the last lines of a service's log (issue 22) — and nothing stale after a retry.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createUpgrade, formatStageSummary } from '../../src/index.js';
import { formatRunMarkdown } from '../../src/stages/summary.js';

function upgrade() {
  const dir = mkdtempSync(join(tmpdir(), 'uk-summary-'));
  return createUpgrade({
    component: 'shop',
    from: '1.0.0',
    to: '1.1.0',
    site: 'site-1',
    state: { filename: join(dir, 'state.sqlite') },
  });
}

describe('stage summary', () => {
  it('shows the rest of a failure message under the step, bounded', async () => {
    const u = upgrade();
    const log = Array.from({ length: 30 }, (_, i) => `log line ${i + 1}`);
    u.step('postStart', {
      id: 'start-app',
      run: () => {
        throw new Error(
          `app on app-2 exited before it became healthy\nlast lines of /var/log/app.log:\n${log.join('\n')}`,
        );
      },
    });
    const result = await u.runStage('postStart');
    const text = formatStageSummary(result);
    expect(text).toContain('[FAILED] start-app');
    expect(text).toContain('exited before it became healthy');
    expect(text).toContain('      last lines of /var/log/app.log:');
    expect(text).toContain('      log line 19');
    expect(text).not.toContain('log line 20\n');
    expect(text).toContain('… 11 more lines (--verbose)');
    await u.close();
  });

  it('a step that succeeds on a retry shows no error of the failed attempt', async () => {
    const u = upgrade();
    let calls = 0;
    u.step('postStart', {
      id: 'flaky',
      retry: { attempts: 2, minDelayMs: 1, maxDelayMs: 1 },
      run: () => {
        calls++;
        if (calls === 1) throw new Error('connection reset by peer');
      },
    });
    const result = await u.runStage('postStart');
    expect(result.status).toBe('succeeded');
    const step = result.steps[0]!;
    expect(step).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(step.error).toBeUndefined();
    expect(formatStageSummary(result)).not.toContain('connection reset');
    expect(formatRunMarkdown({ ...result, stages: [result] } as never, 'shop')).not.toContain(
      'connection reset',
    );
    const status = await u.status();
    expect(status.steps.find((s) => s.id === 'flaky')).toMatchObject({ status: 'succeeded' });
    expect(status.steps.find((s) => s.id === 'flaky')?.error).toBeUndefined();
    await u.close();
  });
});
