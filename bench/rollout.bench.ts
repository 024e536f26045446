// Rollout orchestration overhead, beside what a team would otherwise write: a shell loop of `ssh
// host cmd` (seed 000 §7.3's executor rolling script, minus its sleeps), one host at a time, and
// the same loop run batch by batch in parallel (`xargs -P` style) for serial [1, '20%', '50%', '100%'].
// The work on each host is `true`, so what is measured is the orchestration: connections,
// commands, batches, and for upgradekit the per-host state rows in upgrade_log (SQLite).
// Then the pure bookkeeping cost with no SSH at all: 1000 no-op hosts.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  planBatches,
  type RolloutHost,
  type RolloutOptions,
  rollout,
  type Serial,
  SshSession,
  StateStore,
} from '../packages/core/src/index.js';
import { requireService, type SshdHost, sshArgs, startSshdHosts } from '../test/support/index.js';

const out = (line: string) => process.stdout.write(`${line}\n`);
const PER_SSHD = 3;
const GRAY: Serial = [1, '20%', '50%', '100%'];

function ssh(host: SshdHost, argv: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', [...sshArgs(host), ...argv], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ssh exit ${code}`))));
  });
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

if (!(await requireService('sshd'))) {
  out('sshd is not available: skipped');
  process.exit(0);
}

const sshd = await startSshdHosts(4);
const dir = mkdtempSync(join(tmpdir(), 'uk-bench-rollout-'));
const state = await StateStore.open({ filename: join(dir, 'state.sqlite') });
try {
  // Several "hosts" per sshd, so there are enough for the gray batches to mean something.
  const hosts: (RolloutHost & { sshd: SshdHost })[] = sshd.flatMap((s, i) =>
    Array.from({ length: PER_SSHD }, (_, j) => ({ name: `h${i * PER_SSHD + j + 1}`, sshd: s })),
  );
  const sshdOf = (host: RolloutHost) => (host as (typeof hosts)[number]).sshd;
  let site = 0;
  const ours = (serial: Serial) => {
    site++;
    const options: RolloutOptions = {
      id: 'bench',
      component: 'bench',
      site: `s${site}`,
      from: '1.0.0',
      to: '2.0.0',
      state,
      hosts,
      serial,
      connect: (host) => {
        const s = sshdOf(host);
        return SshSession.connect({
          host: s.host,
          port: s.port,
          username: s.user,
          privateKeyPath: s.client.privateKeyPath,
          hostKeys: { policy: 'strict', knownHostsPath: s.knownHostsPath },
        });
      },
      upgrade: async ({ remote }) => {
        const result = await remote!.exec(['true']);
        if (result.code !== 0) throw new Error('true failed');
      },
    };
    return timed(async () => {
      const result = await rollout(options);
      if (result.status !== 'succeeded')
        throw new Error(`bench rollout ${result.status}: ${result.error?.message}`);
    });
  };
  const loop = () =>
    timed(async () => {
      for (const host of hosts) await ssh(sshdOf(host), ['true']);
    });
  const batched = (serial: Serial) =>
    timed(async () => {
      for (const batch of planBatches(hosts, serial))
        await Promise.all(batch.map((h) => ssh(sshdOf(h), ['true'])));
    });

  // Warm up both (first connections, page cache), then take the median of three.
  await loop();
  await ours(1);
  const median = async (fn: () => Promise<number>) => {
    const times = [await fn(), await fn(), await fn()].sort((a, b) => a - b);
    return times[1]!;
  };
  const loopMs = await median(loop);
  const oursSerialMs = await median(() => ours(1));
  const batchedMs = await median(() => batched(GRAY));
  const oursGrayMs = await median(() => ours(GRAY));
  const batches = planBatches(hosts, GRAY).length;
  const n = hosts.length;

  out(`${n} hosts on 4 sshd instances, work per host: \`true\` over SSH; median of 3`);
  out(`\none host at a time (serial: 1)`);
  out(
    `  shell loop of \`ssh host true\`:             ${loopMs.toFixed(0)} ms = ${(loopMs / n).toFixed(1)} ms/host`,
  );
  out(
    `  upgradekit rollout (connect, exec, state): ${oursSerialMs.toFixed(0)} ms = ${(oursSerialMs / n).toFixed(1)} ms/host`,
  );
  out(`  ratio upgradekit / ssh loop: ${(oursSerialMs / loopMs).toFixed(2)}×`);
  out(`\ngray batches ${JSON.stringify(GRAY)} → ${batches} batches, hosts of a batch in parallel`);
  out(
    `  ssh per host, batch by batch (xargs -P):   ${batchedMs.toFixed(0)} ms = ${(batchedMs / batches).toFixed(1)} ms/batch`,
  );
  out(
    `  upgradekit rollout:                        ${oursGrayMs.toFixed(0)} ms = ${(oursGrayMs / batches).toFixed(1)} ms/batch`,
  );
  out(`  ratio upgradekit / ssh batches: ${(oursGrayMs / batchedMs).toFixed(2)}×`);

  // Bookkeeping only: no connection, a no-op upgrade; what remains is batches + state rows.
  const many = Array.from({ length: 1000 }, (_, i) => ({ name: `n${i}` }));
  for (const serial of [1, GRAY] as const) {
    site++;
    const ms = await timed(() =>
      rollout({
        id: 'bench',
        component: 'bench',
        site: `s${site}`,
        from: '1.0.0',
        to: '2.0.0',
        state,
        hosts: many,
        serial,
        upgrade: () => {},
      }),
    );
    site++;
    const resumeMs = await timed(() =>
      rollout({
        id: 'bench',
        component: 'bench',
        site: `s${site - 1}`,
        from: '1.0.0',
        to: '2.0.0',
        state,
        hosts: many,
        serial,
        upgrade: () => {},
      }),
    );
    out(
      `\n1000 no-op hosts, serial ${JSON.stringify(serial)}: ${ms.toFixed(0)} ms = ${(ms / 1000).toFixed(2)} ms/host (state rows written); resume with all done: ${resumeMs.toFixed(0)} ms`,
    );
  }
} finally {
  await state.close();
  await Promise.all(sshd.map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
}
