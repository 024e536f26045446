// Events as a workflow log: one plain line per event (progress throttled), a log group per stage.
import { debug, endGroup, startGroup } from '@actions/core';
import { ConsoleReporter, type EventBus, type UpgradeEvent } from '@upgradekit/core';

export const onGitea = (env: NodeJS.ProcessEnv = process.env): boolean => env.GITEA_ACTIONS === 'true';

export function attachLog(events: EventBus): () => void {
  const lines = new ConsoleReporter({ stream: process.stdout, interactive: false, color: false });
  let open = false;
  const off = events.on('*', (event: UpgradeEvent) => {
    if (event.type === 'stage.start') {
      if (open) endGroup();
      startGroup(`upgradekit: stage ${event.stage}`);
      open = true;
    }
    // A failed step's annotation comes with the command's result, at its file and line.
    lines.handle(event);
    // Debug detail goes where the runner shows it on a re-run with debug logging (RUNNER_DEBUG).
    if (event.type === 'log' && event.level === 'debug') debug(event.message);
    if (event.type === 'stage.end' && open) {
      endGroup();
      open = false;
    }
  });
  return () => {
    off();
    if (open) endGroup();
    lines.close();
  };
}
