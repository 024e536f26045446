// Issue 21: should ssh2-sftp-client (named by the user) carry the SFTP fallback? In one run, against
// a loopback sshd, with 1 GiB of random bytes:
//   upload   (a) today's path: an SFTP channel on the session's own connection, our writer
//                (parallel writes at offsets, resumable); (b) ssh2-sftp-client connect + fastPut
//   download (a) today's path: ssh2's fastGet on the session's channel;
//            (b) ssh2-sftp-client connect + fastGet
//   200 × "does this file exist, how big is it" (a) one SFTP stat each on the session's channel
//            (b) ssh2-sftp-client exists() + stat()
// (b) must log in again for itself — a second host-key check and authentication per transfer —
// so its connect time is printed apart. Each contender runs twice, interleaved; the best counts.
// Target for adopting (b): ≥ 1.05× (a)'s throughput on a transfer, or a job (a) cannot do.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SftpClient from 'ssh2-sftp-client';
import { SshSession, type SshSessionOptions } from '../packages/core/src/index.js';
import { checkHostKey } from '../packages/core/src/remote/known-hosts.js';
import { sftpDownload, sftpSize, sftpUpload } from '../packages/core/src/remote/transfer/sftp.js';
import { requireService, startSshd } from '../test/support/index.js';

const GiB = 1 << 30;
const out = (line: string) => process.stdout.write(`${line}\n`);

if (!(await requireService('sshd'))) process.exit(0);
const host = await startSshd({ host: '127.0.0.10' });
const dir = mkdtempSync(join(tmpdir(), 'upgradekit-bench-sftp-client-'));
const source = join(dir, 'package.bin');
const remoteDir = join(dir, 'remote');
const remote = join(remoteDir, 'package.bin');
const back = join(dir, 'back.bin');
mkdirSync(remoteDir);

const target: SshSessionOptions = {
  host: host.host,
  port: host.port,
  username: host.user,
  privateKeyPath: host.client.privateKeyPath,
  hostKeys: { policy: 'strict', knownHostsPath: host.knownHostsPath },
};
// The same login ssh2-sftp-client would need: key, and the host key checked against known_hosts.
const clientConfig = {
  host: host.host,
  port: host.port,
  username: host.user,
  privateKey: readFileSync(host.client.privateKeyPath),
  hostVerifier: (key: Buffer) =>
    checkHostKey(host.host, host.port, key, { policy: 'strict', knownHostsPath: host.knownHostsPath })
      .accepted,
};
const quiet = { error: () => {}, end: () => {}, close: () => {} };
const seconds = (started: number) => (performance.now() - started) / 1000;
const rate = (s: number) => `${(GiB / s / 1e6).toFixed(0)} MB/s`;

try {
  execFileSync('sh', ['-c', 'head -c 1073741824 /dev/urandom > "$1"', 'sh', source]);
  execFileSync('sha256sum', [source]); // warm the page cache for every contender alike
  const session = await SshSession.connect(target);
  const size = GiB;

  const best = { upA: Infinity, upB: Infinity, downA: Infinity, downB: Infinity, connectB: Infinity };
  for (let round = 0; round < 2; round++) {
    rmSync(remote, { force: true });
    let started = performance.now();
    const channel = await session.sftp();
    await sftpUpload(channel, source, remote, {
      start: 0,
      size,
      mode: 0o644,
      mtimeMs: Date.now(),
      onBytes: () => {},
    });
    best.upA = Math.min(best.upA, seconds(started));
    rmSync(back, { force: true });
    started = performance.now();
    await sftpDownload(channel, remote, back, () => {});
    best.downA = Math.min(best.downA, seconds(started));
    channel.end();

    rmSync(remote, { force: true });
    const client = new SftpClient('bench', quiet);
    started = performance.now();
    await client.connect(clientConfig);
    best.connectB = Math.min(best.connectB, seconds(started));
    const afterConnect = performance.now();
    await client.fastPut(source, remote);
    best.upB = Math.min(best.upB, seconds(afterConnect));
    rmSync(back, { force: true });
    started = performance.now();
    await client.fastGet(remote, back);
    best.downB = Math.min(best.downB, seconds(started));
    await client.end();
  }
  if (execFileSync('cmp', [source, back]).length !== 0) throw new Error('download differs');

  // Many small questions: 200 paths, half present.
  const paths = Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? remote : `${remote}.${i}.absent`));
  let statA = Infinity;
  let statB = Infinity;
  for (let round = 0; round < 2; round++) {
    const channel = await session.sftp();
    let started = performance.now();
    for (const path of paths) await sftpSize(channel, path);
    statA = Math.min(statA, seconds(started));
    channel.end();
    const client = new SftpClient('bench', quiet);
    await client.connect(clientConfig);
    started = performance.now();
    for (const path of paths) if (await client.exists(path)) await client.stat(path);
    statB = Math.min(statB, seconds(started));
    await client.end();
  }
  await session.close();

  out(`upload   (a) session channel, our writer   ${best.upA.toFixed(2)} s  ${rate(best.upA)}`);
  out(
    `upload   (b) ssh2-sftp-client fastPut      ${best.upB.toFixed(2)} s  ${rate(best.upB)}   + ${(best.connectB * 1000).toFixed(0)} ms to log in again`,
  );
  out(`download (a) session channel, fastGet      ${best.downA.toFixed(2)} s  ${rate(best.downA)}`);
  out(
    `download (b) ssh2-sftp-client fastGet      ${best.downB.toFixed(2)} s  ${rate(best.downB)}   + ${(best.connectB * 1000).toFixed(0)} ms to log in again`,
  );
  out(`200 stats (a) session channel              ${(statA * 1000).toFixed(0)} ms`);
  out(`200 stats (b) ssh2-sftp-client exists+stat ${(statB * 1000).toFixed(0)} ms`);
  out('');
  const verdict = (ratio: number) => (ratio >= 1.05 ? 'yes' : 'no');
  const up = best.upA / (best.upB + best.connectB);
  const down = best.downA / (best.downB + best.connectB);
  out(
    `ratio upload   (b)/(a) throughput, login included: ${up.toFixed(2)}×   (≥ 1.05×, worth adopting: ${verdict(up)})`,
  );
  out(
    `ratio download (b)/(a) throughput, login included: ${down.toFixed(2)}×   (≥ 1.05×, worth adopting: ${verdict(down)})`,
  );
  out(
    `ratio stats    (b)/(a) speed:                      ${(statA / statB).toFixed(2)}×   (≥ 1.05×, worth adopting: ${verdict(statA / statB)})`,
  );
} finally {
  await host.stop();
  rmSync(dir, { recursive: true, force: true });
}
