import { execFileSync } from 'node:child_process';
import { closeSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ConsoleReporter, EventBus, TransferManager } from '@upgradekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireService, type SshdHost, startSshd } from '#test-support';
import { hostOptions, record, tempDir } from './transfer-support.js';

const hasSshd = await requireService('sshd');
const GiB = 1 << 30;

/**
 * 1 GiB made fast: a sparse file with a random 4 KiB stamp (carrying its own offset) at every
 * MiB, so a dropped, duplicated or shifted block changes the sha256 while creating it costs
 * ~1000 small writes rather than 1 GiB of disk.
 */
function sparseGiB(path: string): void {
  const fd = openSync(path, 'w');
  const stamp = Buffer.alloc(4096);
  for (let offset = 0; offset < GiB; offset += 1 << 20) {
    for (let i = 0; i < stamp.length; i += 4) stamp.writeUInt32LE((Math.random() * 2 ** 32) >>> 0, i);
    stamp.writeUInt32LE(offset, 0);
    writeSync(fd, stamp, 0, stamp.length, offset);
  }
  writeSync(fd, Buffer.from('end'), 0, 3, GiB - 3);
  closeSync(fd);
}

describe.runIf(hasSshd)('TransferManager: a 1 GiB file', () => {
  let host: SshdHost;
  let dir: string;
  beforeAll(async () => {
    host = await startSshd({ host: '127.0.0.5' });
    dir = tempDir('transfer-large');
  });
  afterAll(async () => {
    await host?.stop();
    rmSync(dir, { recursive: true, force: true }); // 1 GiB of disk back at once
  });

  it('arrives intact (checked by the system sha256sum) with progress to 100%', async () => {
    const source = join(dir, 'big.bin');
    const target = join(dir, 'remote', 'big.bin');
    sparseGiB(source);
    const events = new EventBus();
    const seen = record(events);
    // What a CI log shows: the console reporter off a TTY, a progress line every 2 s at most.
    const printed: string[] = [];
    const reporter = new ConsoleReporter({
      interactive: false,
      progressIntervalMs: 2000,
      stream: new Writable({
        write(chunk, _encoding, done) {
          printed.push(...String(chunk).split('\n').filter(Boolean));
          done();
        },
      }),
    });
    events.on('*', reporter.handle);
    const started = performance.now();
    const [result] = await new TransferManager({ events }).upload(source, target, [hostOptions(host)]);
    expect(result?.status, result?.error?.message).toBe('uploaded');
    expect(result?.files[0]).toMatchObject({ method: 'scp', size: GiB, bytesSent: GiB });
    expect(statSync(target).size).toBe(GiB);
    // Independent of our own hashing: the system tool on what landed, against the local file's
    // sha256 (which the manager verified on the host as well).
    const landed = execFileSync('sha256sum', [target], { encoding: 'utf8' }).slice(0, 64);
    expect(result?.files[0]?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(landed).toBe(result?.files[0]?.sha256);
    const last = seen.progress.at(-1);
    expect(last).toMatchObject({ label: 'big.bin', done: GiB, total: GiB, percent: 100 });
    const seconds = (performance.now() - started) / 1000;
    const lines = printed.filter((line) => line.startsWith('[transfer@127.0.0.5] big.bin '));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.length).toBeLessThanOrEqual(seconds / 2 + 2);
    expect(lines.at(-1)).toMatch(
      /^\[transfer@127\.0\.0\.5\] big\.bin 100% 1 GiB\/1 GiB at [\d.]+ [KMG]iB\/s, ETA 0ms$/,
    );
    expect(printed.some((line) => /by scp$/.test(line))).toBe(true);
    rmSync(target, { force: true });
  }, 120_000);
});
