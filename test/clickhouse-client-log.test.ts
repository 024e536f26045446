// Issue 22: a failing ClickHouse statement is reported once, in our words. @clickhouse/client's own
// logger would print its error, arguments and stack to the console first; the clients core opens
// send those lines to debug events instead (shown with --verbose).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBus, loadRelease, loadSiteConfig, openDatasources } from '@upgradekit/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { requireService, settings } from './support/index.js';

const hasClickHouse = await requireService('clickhouse');

interface ClickHouseClient {
  command(params: { query: string }): Promise<unknown>;
}

describe.runIf(hasClickHouse)('the ClickHouse client opened by core', () => {
  afterEach(() => vi.restoreAllMocks());

  it('prints nothing of its own on a failed query; its report is a debug event', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uk-chlog-'));
    mkdirSync(join(dir, 'release'));
    writeFileSync(
      join(dir, 'release/upgradekit.yaml'),
      'component: events\ndatasources:\n  events: { type: clickhouse }\ndefaults: { datasource: events }\n',
    );
    writeFileSync(
      join(dir, 'site.yaml'),
      `datasources:\n  events: { url: ${settings.clickhouse.url}, user: ${settings.clickhouse.username} }\n`,
    );
    const events = new EventBus();
    const debug: string[] = [];
    events.on('log', (e) => {
      if (e.level === 'debug') debug.push(e.message);
    });
    // Watched, not replaced: whatever the client prints still goes where it would.
    const printed = (['error', 'warn', 'info', 'debug', 'log'] as const).map((m) => vi.spyOn(console, m));
    const release = await loadRelease(join(dir, 'release'));
    const { connections, close } = await openDatasources(
      release,
      loadSiteConfig({ file: join(dir, 'site.yaml') }),
      { events },
    );
    try {
      const client = connections.events as unknown as ClickHouseClient;
      await expect(client.command({ query: 'SELECT no_such_column FROM system.one' })).rejects.toThrow(
        /no_such_column/,
      );
    } finally {
      await close();
    }
    expect(printed.flatMap((spy) => spy.mock.calls)).toEqual([]);
    expect(debug.some((m) => m.startsWith('clickhouse') && /no_such_column/.test(m))).toBe(true);
  });
});
