// Events as a workflow log: one plain line per event (progress throttled), a log group per stage,
// and each failure as an annotation — plus, on Gitea, where annotations print as raw
// `::error::` text, the same failure as a readable line.
import { error as annotate, endGroup, info, startGroup } from '@actions/core';
import { ConsoleReporter, type EventBus, type UpgradeEvent } from '@upgradekit/core';

export const onGitea = (env: NodeJS.ProcessEnv = process.env): boolean => env.GITEA_ACTIONS === 'true';

/** A failure an operator must see: an annotation, and on Gitea a plain line as well. */
export function reportFailure(title: string, message: string): void {
  annotate(message, { title });
  if (onGitea()) info(`ERROR ${title}: ${message}`);
}

export function attachLog(events: EventBus): () => void {
  const lines = new ConsoleReporter({ stream: process.stdout, interactive: false, color: false });
  let open = false;
  const off = events.on('*', (event: UpgradeEvent) => {
    if (event.type === 'stage.start') {
      if (open) endGroup();
      startGroup(`upgradekit: stage ${event.stage}`);
      open = true;
    }
    lines.handle(event);
    if (event.type === 'step.end' && (event.status === 'failed' || event.status === 'in_doubt')) {
      reportFailure(
        `upgradekit: ${event.stage ? `${event.stage}/` : ''}${event.step} ${event.status}`,
        event.error?.message ?? event.status,
      );
    }
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
