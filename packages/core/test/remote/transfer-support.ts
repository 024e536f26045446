import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventBus, LogEvent, ProgressEvent, RetryEvent, SshSessionOptions } from '@upgradekit/core';
import { type SshdHost, sessionOptions } from '#test-support';

/** Options reaching a test sshd with strict host keys (or through a proxy in front of it). */
export function hostOptions(host: SshdHost, extra: Partial<SshSessionOptions> = {}): SshSessionOptions {
  return { ...sessionOptions(host), ...extra };
}

/** A file of `size` pseudo-random bytes (incompressible, so no layer can cheat). */
export function randomFile(dir: string, name: string, size: number): string {
  const path = join(dir, name);
  const fd = openSync(path, 'w');
  const block = randomBytes(Math.min(size, 1 << 20));
  for (let written = 0; written < size; ) {
    const n = Math.min(block.length, size - written);
    writeSync(fd, block, 0, n);
    // Vary each MiB so equal blocks cannot hide an offset mistake.
    block.writeUInt32LE(written, 0);
    written += n;
  }
  closeSync(fd);
  return path;
}

export function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `upgradekit-${prefix}-`));
}

/** Every event of the kinds the transfer tests look at. */
export function record(events: EventBus) {
  const logs: LogEvent[] = [];
  const retries: RetryEvent[] = [];
  const progress: ProgressEvent[] = [];
  events.on('log', (e) => logs.push(e));
  events.on('retry', (e) => retries.push(e));
  events.on('progress', (e) => progress.push(e));
  return { logs, retries, progress, text: () => logs.map((l) => l.message).join('\n') };
}

export function noPartials(path: string): boolean {
  return !existsSync(`${path}.upgradekit-part`);
}
