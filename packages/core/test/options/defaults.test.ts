import { describe, expect, it } from 'vitest';
import { connectionSpec } from '../../src/config/internal.js';
import { withDefaults } from '../../src/options/index.js';
import { roleSettings } from '../../src/remote/roles.js';

describe('withDefaults', () => {
  it('takes what was given, and a default where nothing (or undefined, a left-out field) was', () => {
    const given = { port: 3307, host: undefined, extra: 'ignored' } as { port: number; host: undefined };
    expect(withDefaults({ host: '127.0.0.1', port: 3306 }, given)).toEqual({ host: '127.0.0.1', port: 3307 });
    expect(withDefaults({ a: 1 })).toEqual({ a: 1 });
  });

  it('keeps a given 0 or empty string: only undefined means "not given"', () => {
    expect(withDefaults({ reconnects: 2, user: 'root' }, { reconnects: 0, user: '' })).toEqual({
      reconnects: 0,
      user: '',
    });
  });

  it('is what a connection spec and an SSH role are built with', () => {
    expect(connectionSpec('postgres', { host: 'db1' })).toEqual({
      host: 'db1',
      port: 5432,
      user: 'postgres',
    });
    expect(connectionSpec('mariadb')).toEqual({ host: '127.0.0.1', port: 3306, user: 'root' });
    expect(roleSettings('transfer', { reconnects: 0 })).toEqual({
      keepaliveIntervalMs: 30_000,
      deadAfterMs: 120_000,
      reconnects: 0,
    });
  });
});
