import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseMeminfo, parseProbe } from '../../src/assess/probe.js';

describe('probe output parsing', () => {
  it('reads this kernel’s /proc/meminfo, and older kernels without MemAvailable', () => {
    const text = readFileSync('/proc/meminfo', 'utf8');
    const now = parseMeminfo(text);
    expect(now.totalBytes).toBeGreaterThan(0);
    expect(now.availableBytes).toBeLessThanOrEqual(now.totalBytes!);
    const old = text.replace(/^MemAvailable:.*\n/m, '');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)![1]) * 1024;
    expect(parseMeminfo(old).availableBytes).toBe(kb('MemFree') + kb('Buffers') + kb('Cached'));
  });

  it('keeps each df answer with its path, and a df error as that path’s error', () => {
    const out = [
      '@@nproc',
      '4',
      '@@df',
      '/srv/data dir',
      'Filesystem     1024-blocks  Used Available Capacity Mounted on',
      '/dev/sdb1        1000000 400000    600000      40% /srv/data dir',
      '@@df',
      '/nope',
      'df: /nope: No such file or directory',
      '@@end',
    ].join('\n');
    const r = parseProbe(out, ['/srv/data dir/backups', '/nope']);
    expect(r.cpus).toBe(4);
    expect(r.disks).toEqual([
      {
        path: '/srv/data dir/backups',
        measured: '/srv/data dir',
        mount: '/srv/data dir',
        device: '/dev/sdb1 on /srv/data dir',
        totalBytes: 1_000_000 * 1024,
        freeBytes: 600_000 * 1024,
      },
      { path: '/nope', measured: '/nope', error: 'df: /nope: No such file or directory' },
    ]);
  });
});
