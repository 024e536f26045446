import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assess, probeLocal, probeRemote, SshSession } from '@upgradekit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { emptyPlan, FaultProxy, requireService, sessionOptions, sshHostForFile, test } from '#test-support';

const hasSshd = await requireService('sshd');
const hasMariaDB = await requireService('mariadb');

/** A 4 MiB tmpfs: a real, nearly full file system. Absent where mounting is not allowed. */
function smallDisk(): { path: string; cleanup: () => void } | undefined {
  const path = mkdtempSync(join(tmpdir(), 'uk-assess-small-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', path], { stdio: 'ignore' });
    return {
      path,
      cleanup: () => {
        execFileSync('umount', [path]);
        rmSync(path, { recursive: true });
      },
    };
  } catch {
    rmSync(path, { recursive: true });
    return undefined;
  }
}

describe('resource probes', () => {
  const disk = smallDisk();
  afterAll(() => disk?.cleanup());

  it('reads this machine in well under a second: CPUs, idle, memory, disk per path', async () => {
    const started = performance.now();
    const r = await probeLocal([tmpdir(), join(tmpdir(), 'does', 'not', 'exist', 'yet')], { sampleMs: 250 });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(r.cpus).toBeGreaterThan(0);
    expect(r.cpuIdlePercent).toBeGreaterThanOrEqual(0);
    expect(r.cpuIdlePercent).toBeLessThanOrEqual(100);
    expect(r.memoryAvailableBytes).toBeGreaterThan(0);
    expect(r.memoryAvailableBytes).toBeLessThanOrEqual(r.memoryTotalBytes!);
    // A backup directory that does not exist yet is measured where it will be created.
    expect(r.disks[1]!.measured).toBe(tmpdir());
    expect(r.disks[1]!.device).toBe(r.disks[0]!.device);
    expect(r.disks[1]!.device).toMatch(/^dev \d+$/);
  });

  it.runIf(disk)('sees the size of a small file system exactly', async () => {
    const r = await probeLocal([disk!.path], { sampleMs: 20 });
    expect(r.disks[0]!.totalBytes).toBe(4 * 1024 * 1024);
  });

  it.runIf(disk)(
    'fails the disk check when the backup does not fit, warns when it fits without margin',
    async () => {
      const opts = (need: number) => ({
        local: { paths: [disk!.path] },
        thresholds: { cpuIdlePercent: 0, memoryBytes: 0 },
        needs: { diskBytes: need },
        cpuSampleMs: 20,
      });
      const short = await assess(emptyPlan(), opts(64 * 1024 * 1024));
      const check = short.resources.checks.find((c) => c.id === `resources.local.disk:${disk!.path}`)!;
      expect(check.status).toBe('fail');
      expect(check.detail).toMatch(/free of 4 MiB; need 64 MiB/);
      expect(check.suggestion).toMatch(/Extend the disk/);
      expect(short.verdict).toBe('fail');
      const fits = await assess(emptyPlan(), opts(1024 * 1024));
      expect(fits.resources.checks.find((c) => c.id.includes('disk'))!.status).toBe('pass');
      expect(fits.verdict).toBe('pass');
    },
  );

  test.runIf(disk && hasMariaDB)(
    'paths on one file system share it: the backup and the declared needs add up',
    async ({ db }) => {
      const { knex } = await db('mariadb');
      await knex.raw('CREATE TABLE t (id INT PRIMARY KEY)');
      const options = (declared: number) => ({
        connections: { main: knex },
        local: { paths: [disk!.path] },
        backup: { path: join(disk!.path, 'backups') },
        thresholds: { cpuIdlePercent: 0, memoryBytes: 0 },
        needs: { diskBytes: declared },
        cpuSampleMs: 10,
      });
      const first = await assess(emptyPlan(), options(0));
      const backup = first.resources.need.backupBytes;
      const free = first.resources.hosts[0]!.disks[0]!.freeBytes!;
      expect(backup).toBeGreaterThan(0);
      // Declared need + backup fits; declared + twice the backup does not: tight, a warning.
      const declared = free - Math.round(1.5 * backup);
      const report = await assess(emptyPlan(), options(declared));
      const diskChecks = report.resources.checks.filter((c) => c.id.includes('.disk:'));
      expect(diskChecks).toHaveLength(1);
      const [check] = diskChecks;
      expect(check!.title).toBe(`Free disk at local:${disk!.path}, ${join(disk!.path, 'backups')}`);
      expect(check!.data).toMatchObject({
        requiredBytes: declared + 2 * backup,
        minimumBytes: declared + backup,
      });
      expect(check!.status).toBe('warn');
      expect(check!.detail).toMatch(/declared by tasks and plugins .* \+ backup .* × 2/);
    },
  );

  it('this machine only orchestrates by default: its CPU is measured, not judged', async () => {
    const report = await assess(emptyPlan(), {
      local: { paths: [tmpdir()] },
      thresholds: { cpuIdlePercent: 100 },
      cpuSampleMs: 20,
    });
    const cpu = report.resources.checks.find((c) => c.id === 'resources.local.cpu')!;
    expect(cpu.status).toBe('skip');
    expect(cpu.detail).toMatch(/^[\d.]+% idle, not judged: this machine only orchestrates the upgrade/);
    expect(typeof cpu.data?.cpuIdlePercent).toBe('number');
  });

  it('accepted checks are reported as measured and block nothing', async () => {
    const options = {
      local: { paths: [tmpdir()], host: true },
      thresholds: { cpuIdlePercent: 100, memoryBytes: 1e18 },
      cpuSampleMs: 20,
    };
    const refused = await assess(emptyPlan(), { ...options, accept: ['resources.local.cpu'] });
    expect(refused.verdict).toBe('fail'); // memory is not accepted
    const accepted = await assess(emptyPlan(), {
      ...options,
      accept: ['resources.*.cpu', 'resources.local.memory'],
    });
    const memory = accepted.resources.checks.find((c) => c.id === 'resources.local.memory')!;
    expect(memory).toMatchObject({ status: 'fail', accepted: true });
    expect(accepted.verdict).toBe('pass');
    expect(accepted.counts.fail).toBeGreaterThanOrEqual(1);
  });

  it('applies the configured thresholds: CPU by the three bands, memory short → fail', async () => {
    const report = await assess(emptyPlan(), {
      local: { paths: [tmpdir()], host: true },
      thresholds: { cpuIdlePercent: 100, memoryBytes: 1e18 },
      cpuSampleMs: 20,
    });
    const cpu = report.resources.checks.find((c) => c.id === 'resources.local.cpu')!;
    const memory = report.resources.checks.find((c) => c.id === 'resources.local.memory')!;
    expect(memory.status).toBe('fail');
    expect(memory.detail).toMatch(/need ≥ /);
    const idle = cpu.data?.cpuIdlePercent as number;
    expect(cpu.data?.requiredIdlePercent).toBe(100);
    // Enough → pass; at least half → warn (confirm); less → fail.
    expect(cpu.status).toBe(idle >= 100 ? 'pass' : idle >= 50 ? 'warn' : 'fail');
    expect(report.verdict).toBe('fail');
  });
});

describe.runIf(hasSshd)('remote resource checks over real sshd', () => {
  // Two hosts, each with its session open for the whole describe.
  const app1 = sshHostForFile('assess-app-1', '127.0.0.2');
  const app2 = sshHostForFile('assess-app-2', '127.0.0.3');
  const disk = smallDisk();
  afterAll(() => disk?.cleanup());

  it('one round trip per host; hostile paths are data, not commands', async () => {
    const marker = join(tmpdir(), `uk-assess-pwned-${Date.now()}`);
    const nasty = `/tmp/$(touch ${marker}) x;touch ${marker}`;
    let calls = 0;
    const counting = {
      exec: (argv: readonly string[], o?: object) => {
        calls++;
        return app1.ssh.exec(argv, o);
      },
    };
    const r = await probeRemote('app-1', counting, ['/', nasty], { sampleMs: 100, timeoutMs: 10_000 });
    expect(calls).toBe(1);
    expect(r.error).toBeUndefined();
    expect(r.cpus).toBeGreaterThan(0);
    expect(r.memoryTotalBytes).toBeGreaterThan(0);
    expect(r.disks[0]).toMatchObject({ path: '/', mount: '/' });
    expect(r.disks[0]!.freeBytes).toBeGreaterThan(0);
    expect(r.disks[1]!.measured).toBe('/tmp');
    expect(existsSync(marker)).toBe(false);
  });

  it.runIf(disk)('flags low disk on one host and passes the other, naming each', async () => {
    const report = await assess(emptyPlan(), {
      local: false,
      hosts: [
        { name: 'app-1', session: app1.ssh, paths: [disk!.path], diskBytes: 16 * 1024 * 1024 },
        { name: 'app-2', session: app2.ssh, paths: ['/'], diskBytes: 1024 },
      ],
      thresholds: { cpuIdlePercent: 0, memoryBytes: 0 },
      cpuSampleMs: 50,
    });
    const d1 = report.resources.checks.find((c) => c.id === `resources.app-1.disk:${disk!.path}`)!;
    const d2 = report.resources.checks.find((c) => c.id === 'resources.app-2.disk:/')!;
    expect(d1).toMatchObject({ status: 'fail', host: 'app-1' });
    expect(d2).toMatchObject({ status: 'pass', host: 'app-2' });
    expect(report.resources.hosts.map((h) => h.host)).toEqual(['app-1', 'app-2']);
    expect(report.verdict).toBe('fail');
  });

  it('a host gone silent is a failed check naming it, not an exception', async () => {
    const h = app2.sshd;
    const proxy = await FaultProxy.start({ host: h.host, port: h.port });
    const session = await SshSession.connect({
      ...sessionOptions(h, { policy: 'accept-new', knownHostsPath: join(h.dir, 'proxy_known_hosts') }),
      host: proxy.host,
      port: proxy.port,
      reconnects: 0,
    });
    try {
      proxy.set({ blackhole: true });
      const report = await assess(emptyPlan(), {
        local: false,
        hosts: [{ name: 'db-9', session }],
        cpuSampleMs: 20,
        probeTimeoutMs: 1500,
      });
      expect(report.resources.checks).toEqual([
        expect.objectContaining({ id: 'resources.db-9.reachable', status: 'fail', host: 'db-9' }),
      ]);
      expect(report.resources.checks[0]!.detail).toMatch(
        /could not read the resources of db-9: .*(timed out|time)/i,
      );
      expect(report.verdict).toBe('fail');
    } finally {
      proxy.set({});
      await session.close().catch(() => {});
      await proxy.close();
    }
  });
});
