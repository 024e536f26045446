// Events as a workflow log: one plain line per event (progress throttled), a log group per stage
// that has something to say.
import { debug, endGroup, startGroup } from '@actions/core';
import { ConsoleReporter, type EventBus, type UpgradeEvent } from '@upgradekit/core';

export const onGitea = (env: NodeJS.ProcessEnv = process.env): boolean => env.GITEA_ACTIONS === 'true';

export function attachLog(events: EventBus): () => void {
  // A stage's group opens with its first line: a stage with nothing in it prints nothing
  // (ConsoleReporter), and leaves no empty group either.
  let pending: string | undefined;
  let open = false;
  const stream = {
    write(chunk: string | Uint8Array): boolean {
      if (pending !== undefined) {
        startGroup(`upgradekit: stage ${pending}`);
        open = true;
        pending = undefined;
      }
      return process.stdout.write(chunk);
    },
  } as unknown as NodeJS.WritableStream;
  const lines = new ConsoleReporter({ stream, interactive: false, color: false });
  const off = events.on('*', (event: UpgradeEvent) => {
    if (event.type === 'stage.start') {
      if (open) endGroup();
      open = false;
      pending = event.stage;
    }
    // A failed step's annotation comes with the command's result, at its file and line.
    lines.handle(event);
    // Debug detail goes where the runner shows it on a re-run with debug logging (RUNNER_DEBUG).
    if (event.type === 'log' && event.level === 'debug') debug(event.message);
    if (event.type === 'stage.end') {
      if (open) endGroup();
      open = false;
      pending = undefined;
    }
  });
  return () => {
    off();
    if (open) endGroup();
    lines.close();
  };
}
