// Issue 5: moving 1 GiB to a loopback sshd, in one run —
//   (a) system scp directly, (b) TransferManager's scp path, (c) its SFTP path, (d) OpenSSH `sftp -b`;
//   skipping an unchanged 1 GiB file vs a local `sha256sum`; resuming after a cut at 50%.
// Targets: (b), (c) ≥ 0.95× (a)'s throughput; skip ≤ 1.2× local sha256sum; resume re-sends ≤ 55%.
// Each contender runs twice, interleaved, and its best run counts (the machine may be shared).
// The manager's runs are shown twice: the transfer phase alone (what scp and sftp do), and end to
// end, which adds what they do not: the remote sha256 verification and the rename into place.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBus, type SshSessionOptions, TransferManager } from '../packages/core/src/index.js';
import { FaultProxy, requireService, startSshd } from '../test/support/index.js';

const GiB = 1 << 30;
const out = (line: string) => process.stdout.write(`${line}\n`);

if (!(await requireService('sshd'))) process.exit(0);
const host = await startSshd({ host: '127.0.0.9' });
const dir = mkdtempSync(join(tmpdir(), 'upgradekit-bench-transfer-'));
const source = join(dir, 'package.bin');
const remote = join(dir, 'remote', 'package.bin');
const clean = () => rmSync(join(dir, 'remote'), { recursive: true, force: true });

try {
  // Random bytes: nothing along the way can compress them.
  execFileSync('sh', ['-c', 'head -c 1073741824 /dev/urandom > "$1"', 'sh', source]);
  execFileSync('sha256sum', [source]); // warm the page cache for every contender alike
  const target: SshSessionOptions = {
    host: host.host,
    port: host.port,
    username: host.user,
    privateKeyPath: host.client.privateKeyPath,
    hostKeys: { policy: 'strict', knownHostsPath: host.knownHostsPath },
  };
  const ssh = [
    '-i',
    host.client.privateKeyPath,
    '-P',
    String(host.port),
    '-o',
    'BatchMode=yes',
    '-o',
    `UserKnownHostsFile=${host.knownHostsPath}`,
  ];
  const time = (fn: () => void) => {
    const started = performance.now();
    fn();
    return (performance.now() - started) / 1000;
  };
  const rate = (s: number) => `${(GiB / s / 1e6).toFixed(0)} MB/s`;

  async function manager(method: 'scp' | 'sftp'): Promise<{ phase: number; total: number }> {
    clean();
    const events = new EventBus();
    let began = 0;
    let sent = 0;
    events.on('log', (e) => {
      if (/^upload package\.bin \(/.test(e.message)) began = performance.now();
      if (/: sent in /.test(e.message)) sent = performance.now();
    });
    const started = performance.now();
    const [result] = await new TransferManager({ events, method }).upload(source, remote, [target]);
    const total = (performance.now() - started) / 1000;
    if (result?.status !== 'uploaded') throw new Error(`manager ${method}: ${result?.error?.message}`);
    return { phase: (sent - began) / 1000, total };
  }
  // Two rounds, interleaved, best of each: the machine is shared, and a single run measures the
  // neighbours as much as the contender.
  const batch = join(dir, 'batch');
  writeFileSync(batch, `put "${source}" "${remote}"\n`);
  const systemScp = () => {
    clean();
    execFileSync('mkdir', ['-p', join(dir, 'remote')]);
    return time(() => execFileSync('scp', [...ssh, source, `${host.user}@${host.host}:${remote}`]));
  };
  const systemSftp = () => {
    clean();
    execFileSync('mkdir', ['-p', join(dir, 'remote')]);
    return time(() =>
      execFileSync('sftp', [...ssh, '-b', batch, `${host.user}@${host.host}`], { stdio: 'ignore' }),
    );
  };
  let a = Number.POSITIVE_INFINITY;
  let d = Number.POSITIVE_INFINITY;
  const b = { phase: Number.POSITIVE_INFINITY, total: Number.POSITIVE_INFINITY };
  const c = { phase: Number.POSITIVE_INFINITY, total: Number.POSITIVE_INFINITY };
  for (let round = 0; round < 2; round++) {
    a = Math.min(a, systemScp());
    const mb = await manager('scp');
    b.phase = Math.min(b.phase, mb.phase);
    b.total = Math.min(b.total, mb.total);
    const mc = await manager('sftp');
    c.phase = Math.min(c.phase, mc.phase);
    c.total = Math.min(c.total, mc.total);
    d = Math.min(d, systemSftp());
  }
  out(`(a) system scp                 ${a.toFixed(2)} s  ${rate(a)}`);
  out(
    `(b) manager, scp path          ${b.phase.toFixed(2)} s  ${rate(b.phase)}   end to end ${b.total.toFixed(2)} s`,
  );
  out(
    `(c) manager, SFTP path         ${c.phase.toFixed(2)} s  ${rate(c.phase)}   end to end ${c.total.toFixed(2)} s`,
  );
  out(`(d) OpenSSH sftp -b            ${d.toFixed(2)} s  ${rate(d)}`);

  // The remote file is now identical (from (d)): the manager compares sha256 and skips.
  let sum = Number.POSITIVE_INFINITY;
  let skipped = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 2; round++) {
    sum = Math.min(
      sum,
      time(() => execFileSync('sha256sum', [source])),
    );
    const started = performance.now();
    const [skip] = await new TransferManager().upload(source, remote, [target]);
    skipped = Math.min(skipped, (performance.now() - started) / 1000);
    if (skip?.status !== 'skipped') throw new Error(`skip run: ${skip?.status}`);
  }
  out(`local sha256sum                ${sum.toFixed(2)} s`);
  out(`manager skip (unchanged)       ${skipped.toFixed(2)} s`);

  // Resume: a first upload through a proxy that cuts at 50% and is not retried (a killed run),
  // then a second run: the proxy counts what it has to send.
  clean();
  const proxy = await FaultProxy.start({ host: host.host, port: host.port }, { cutAfterBytes: GiB / 2 });
  const knownHosts = join(dir, 'proxy_known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${proxy.port} ${host.hostPublicKey}\n`);
  const viaProxy = {
    ...target,
    host: '127.0.0.1',
    port: proxy.port,
    reconnects: 0,
    hostKeys: { policy: 'strict' as const, knownHostsPath: knownHosts },
  };
  const [cut] = await new TransferManager({ method: 'sftp', attempts: 1 }).upload(source, remote, [viaProxy]);
  if (cut?.status !== 'failed') throw new Error('the cut did not happen');
  proxy.set({});
  Object.assign(proxy.stats, { bytesUp: 0 });
  const resumeStarted = performance.now();
  const [resumed] = await new TransferManager({ method: 'sftp' }).upload(source, remote, [viaProxy]);
  const resumeSeconds = (performance.now() - resumeStarted) / 1000;
  await proxy.close();
  if (resumed?.status !== 'uploaded') throw new Error(`resume: ${resumed?.error?.message}`);
  const resentShare = proxy.stats.bytesUp / GiB;
  out(
    `resume after a cut at 50%      ${resumeSeconds.toFixed(2)} s, resumed at ${(((resumed.files[0]?.resumedFrom ?? 0) / GiB) * 100).toFixed(1)}%, sent ${(resentShare * 100).toFixed(1)}% of the file (proxy count)`,
  );

  out('');
  out(
    `ratio (b)/(a) throughput, transfer phase: ${(a / b.phase).toFixed(2)}×   end to end: ${(a / b.total).toFixed(2)}×   (target ≥ 0.95×)`,
  );
  out(
    `ratio (c)/(a) throughput, transfer phase: ${(a / c.phase).toFixed(2)}×   end to end: ${(a / c.total).toFixed(2)}×   (target ≥ 0.95×)`,
  );
  out(`ratio (d)/(a) throughput:                 ${(a / d).toFixed(2)}×`);
  out(`ratio skip / local sha256sum:             ${(skipped / sum).toFixed(2)}×   (target ≤ 1.2×)`);
  out(
    `resume re-sends:                          ${(resentShare * 100).toFixed(1)}% of the bytes   (target ≤ 55%)`,
  );
} finally {
  await host.stop();
  rmSync(dir, { recursive: true, force: true });
}
