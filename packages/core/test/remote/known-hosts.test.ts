// Issue 20: host keys as OpenSSH checks them. Each kind of known_hosts line, against a throwaway
// sshd with an Ed25519 and an RSA host key: SshSession must accept exactly when
// `ssh -o BatchMode=yes -o StrictHostKeyChecking=yes` accepts the same file.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isUpgradeKitError, SshSession as Session, type SshSession } from '@upgradekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireService, type SshdHost, sessionOptions, sshArgs, startSshd, test } from '#test-support';
import { cli } from '../../../cli/test/support.js';

const hasSshd = await requireService('sshd');

describe.runIf(hasSshd)('known_hosts, line by line, as ssh decides', () => {
  let host: SshdHost;
  let stranger: SshdHost;
  beforeAll(async () => {
    [host, stranger] = await Promise.all([
      startSshd({ host: '127.0.0.2', rsa: true }),
      startSshd({ host: '127.0.0.3', rsa: true }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([host?.stop(), stranger?.stop()]);
  });

  const label = () => `[${host.host}]:${host.port}`;
  const connect = (policy: 'strict' | 'accept-new', knownHostsPath: string) =>
    Session.connect({ ...sessionOptions(host, { policy, knownHostsPath }), reconnects: 0 });
  const cases: Record<string, () => string> = {
    'the exact host and its Ed25519 key': () => `${label()} ${host.hostPublicKey}\n`,
    'only its RSA key (ssh negotiates RSA)': () => `${label()} ${host.hostRsaPublicKey}\n`,
    'a * wildcard': () => `[127.0.0.*]:${host.port} ${host.hostPublicKey}\n`,
    'a ? wildcard': () => `[127.0.0.?]:${host.port} ${host.hostPublicKey}\n`,
    'a list with the host negated': () =>
      `![${host.host}]:${host.port},[127.0.0.*]:${host.port} ${host.hostPublicKey}\n`,
    'another host only': () => `[127.0.0.9]:${host.port} ${host.hostPublicKey}\n`,
    "another host's key of the same type": () => `${label()} ${stranger.hostPublicKey}\n`,
    '@revoked: its key, with the key also recorded plainly': () =>
      `@revoked ${label()} ${host.hostPublicKey}\n${label()} ${host.hostPublicKey}\n`,
    '@revoked: its Ed25519 key, its RSA key recorded': () =>
      `@revoked ${label()} ${host.hostPublicKey}\n${label()} ${host.hostRsaPublicKey}\n`,
    '@cert-authority only (the host has no certificate)': () =>
      `@cert-authority ${label()} ${stranger.hostPublicKey}\n`,
    'a comment and an unknown marker': () =>
      `# ${label()} ${host.hostPublicKey}\n@nope ${label()} ${host.hostPublicKey}\n`,
    'a hashed line (ssh-keygen -H)': () => `${label()} ${host.hostPublicKey}\n`, // hashed below
  };

  for (const [name, text] of Object.entries(cases)) {
    it(name, async () => {
      const file = join(host.dir, `kh-${name.replace(/\W+/g, '-')}`);
      writeFileSync(file, text());
      if (name.startsWith('a hashed')) {
        execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
        expect(readFileSync(file, 'utf8')).toMatch(/^\|1\|/);
      }
      const ssh = spawnSync('ssh', [...sshArgs(host, file), 'true'], { encoding: 'utf8', timeout: 20_000 });
      const ours = await connect('strict', file).then(
        async (s: SshSession) => {
          await s.close();
          return undefined;
        },
        (e: unknown) => e,
      );
      const sshAccepted = ssh.status === 0;
      expect(ours === undefined, `ssh: exit ${ssh.status} ${ssh.stderr}\nours: ${String(ours)}`).toBe(
        sshAccepted,
      );
      if (!sshAccepted) expect(isUpgradeKitError(ours, 'UPGRADEKIT_HOST_KEY'), String(ours)).toBe(true);
      if (name.startsWith('@revoked: its key')) {
        expect(ssh.stderr).toContain('REVOKED HOST KEY');
        expect((ours as Error).message).toContain('REVOKED HOST KEY');
      }
      if (name.startsWith('@cert-authority')) expect((ours as Error).message).toContain('not supported');
    }, 60_000);
  }

  it('accept-new never records a revoked key, and refuses it', async () => {
    const file = join(host.dir, 'kh-accept-new-revoked');
    const text = `@revoked ${label()} ${host.hostPublicKey}\n@revoked ${label()} ${host.hostRsaPublicKey}\n`;
    writeFileSync(file, text);
    const error = await connect('accept-new', file).catch((e: unknown) => e);
    expect(isUpgradeKitError(error, 'UPGRADEKIT_HOST_KEY'), String(error)).toBe(true);
    expect((error as Error).message).toContain('REVOKED HOST KEY');
    expect(readFileSync(file, 'utf8')).toBe(text);
  });
});

describe.runIf(hasSshd)('hostKeys: off is said where it is read, not only on stderr', () => {
  test('assess --json carries a warning check for the host; the text report names it', async ({
    sshd,
    release,
  }) => {
    const [host] = (await sshd(1)) as [SshdHost];
    const dir = release({
      'release/upgradekit.yaml':
        'component: app\ndatasources:\n  main: { type: sqlite }\ndefaults: { datasource: main }\n',
      'release/versions/1.1.0/tasks.yaml':
        'tasks:\n  - { id: a, kind: sql, stage: pre_stop, file: a.sql, compatibleFrom: 1.0.0 }\n',
      'release/versions/1.1.0/a.sql': 'CREATE TABLE a (id INTEGER);\n',
      'site.yaml': `assessment: { thresholds: { cpuIdlePercent: 0 } }\nhosts:\n  - { name: app-1, host: ${host.host}, port: ${host.port}, user: ${host.user}, privateKeyPath: ${host.client.privateKeyPath}, hostKeys: off }\n`,
    });
    const args = ['--config', 'site.yaml', '--release', 'release', '--from', '1.0.0', '--to', '1.1.0'];
    const json = cli(['assess', '--json', ...args], { cwd: dir });
    const doc = json.json() as {
      assessment: {
        verdict: string;
        resources: { checks: { id: string; status: string; detail: string }[] };
      };
    };
    const check = doc.assessment.resources.checks.find((c) => c.id === 'resources.app-1.hostKeys');
    expect(check, json.stdout + json.stderr).toMatchObject({ status: 'warn' });
    expect(check?.detail).toContain('host key checking is OFF for app-1');
    expect(doc.assessment.verdict).toBe('warn');
    const text = cli(['assess', ...args], { cwd: dir });
    expect(text.stdout).toContain('host key checking is OFF for app-1');
  }, 60_000);
});
