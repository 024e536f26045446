// Issue 22: one decision, one question. A run with several reasons to confirm (an assessment that
// warns, a task without compatibleFrom) asks once, listing every reason; "no" runs nothing.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventBus, loadSiteConfig, parseCommandInput, runCommand } from '../../src/index.js';

function release(): { dir: string; cwd: string } {
  const cwd = mkdtempSync(join(tmpdir(), 'uk-confirm-'));
  const dir = join(cwd, 'release');
  mkdirSync(join(dir, 'versions/1.1.0/sql'), { recursive: true });
  writeFileSync(
    join(dir, 'upgradekit.yaml'),
    `component: shop\ndatasources:\n  main: { type: sqlite }\ndefaults: { datasource: main }\n`,
  );
  // No compatibleFrom: nobody has said the running 1.0.0 can live with it.
  writeFileSync(
    join(dir, 'versions/1.1.0/tasks.yaml'),
    'tasks:\n  - id: add_orders\n    kind: sql\n    stage: pre_stop\n    file: sql/orders.sql\n',
  );
  writeFileSync(join(dir, 'versions/1.1.0/sql/orders.sql'), 'CREATE TABLE orders (id INTEGER);\n');
  return { dir, cwd };
}

describe('confirmation', () => {
  it('asks one question for every reason together; no runs nothing, yes runs', async () => {
    const { dir, cwd } = release();
    const previous = process.cwd();
    process.chdir(cwd); // SQLite state and datasource live under ./.upgradekit
    try {
      const input = parseCommandInput(
        { command: 'run', release: dir, from: '1.0.0', to: '1.1.0', services: 'external' },
        'cli',
      );
      const asked: { lines: readonly string[]; question: string }[] = [];
      const io = (answer: boolean) => ({
        surface: 'cli' as const,
        config: loadSiteConfig({}),
        events: new EventBus(),
        ask: async (prompt: { lines: readonly string[]; question: string }) => {
          asked.push(prompt);
          return answer;
        },
      });
      const refused = await runCommand(input, io(false));
      expect(asked).toHaveLength(1);
      expect(asked[0]?.question).toBe('Run the upgrade anyway?');
      // Both reasons, in the one prompt: the assessment's warning and the unannotated task.
      expect(asked[0]?.lines[0]).toBe('The assessment above has 1 warning.');
      expect(asked[0]?.lines.join('\n')).toContain('add_orders (1.1.0)');
      expect(refused.exitClass).toBe('decision');
      expect(refused.document).not.toHaveProperty('stages'); // nothing ran

      asked.length = 0;
      const ran = await runCommand(input, io(true));
      expect(asked).toHaveLength(1);
      // A stop-mode run with external services pauses after preUpgrade, where the task ran.
      expect(ran.status).toBe('paused');
      const stages = (
        ran.document as { stages: { stage: string; steps: { id: string; status: string }[] }[] }
      ).stages;
      expect(stages.find((s) => s.stage === 'preUpgrade')?.steps).toMatchObject([
        { id: 'add_orders', status: 'succeeded' },
      ]);
    } finally {
      process.chdir(previous);
    }
  });
});
