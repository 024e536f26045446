import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { CommandRunner } from './runner.js';

const UNIT = /^[A-Za-z0-9:_.@\\-]+$/;

export function assertUnitName(unit: string, what: string): void {
  if (!UNIT.test(unit) || unit.startsWith('-')) {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `${what} must be a systemd unit name such as app.service (letters, digits, ":_.@\\-"; got ${JSON.stringify(unit)})`,
    );
  }
}

/** The unit's ActiveState: active, reloading, inactive, failed, activating, deactivating. */
export async function unitState(runner: CommandRunner, unit: string, signal?: AbortSignal): Promise<string> {
  const result = await runner.exec(
    ['systemctl', 'show', '--property=ActiveState', '--value', '--', unit],
    signal ? { signal } : {},
  );
  if (result.code !== 0) {
    throw new UpgradeKitError(
      ErrorCodes.SERVICE,
      `cannot query unit ${unit} on ${runner.host}: ${result.stderr.trim() || `exit ${result.code}`}`,
      { context: { host: runner.host, unit } },
    );
  }
  return result.stdout.trim();
}
