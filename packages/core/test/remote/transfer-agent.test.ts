// scp with an ssh-agent and no key file, both ways: scp is a child process, so the agent the host
// is configured with must be handed to it (it was on upload only: a download failed to log in).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type SshSessionOptions, TransferManager } from '@upgradekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireService, type SshdHost, startSshd } from '#test-support';
import { randomFile, sha256, tempDir } from './transfer-support.js';

const hasSshd = await requireService('sshd');

describe.runIf(hasSshd)('scp through an ssh-agent, without a key file', () => {
  let sshd: SshdHost;
  let dir: string;
  let agent: ChildProcess;
  let socket: string;
  const callersAgent = process.env.SSH_AUTH_SOCK;
  beforeAll(async () => {
    sshd = await startSshd({ host: '127.0.0.2' });
    dir = tempDir('agent');
    socket = join(dir, 'agent.sock');
    agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 50));
    execFileSync('ssh-add', [sshd.client.privateKeyPath], {
      env: { ...process.env, SSH_AUTH_SOCK: socket },
      stdio: 'ignore',
    });
    // Only the configured agent can log in: the caller has none.
    delete process.env.SSH_AUTH_SOCK;
  });
  afterAll(async () => {
    if (callersAgent !== undefined) process.env.SSH_AUTH_SOCK = callersAgent;
    agent?.kill();
    await sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const target = (): SshSessionOptions => ({
    host: sshd.host,
    port: sshd.port,
    username: sshd.user,
    agent: socket,
    hostKeys: { policy: 'strict', knownHostsPath: sshd.knownHostsPath },
  });

  it('uploads and downloads by scp, each verified', async () => {
    const manager = new TransferManager({ method: 'scp' });
    const file = randomFile(dir, 'payload.bin', 3 << 20);
    const remote = join(dir, 'remote');
    mkdirSync(remote);
    const [up] = await manager.upload(file, join(remote, 'payload.bin'), [target()]);
    expect(up?.files).toMatchObject([{ status: 'uploaded', method: 'scp' }]);
    const back = join(dir, 'back.bin');
    const down = await manager.download(join(remote, 'payload.bin'), back, target());
    expect(down).toMatchObject({ status: 'downloaded', method: 'scp', sha256: sha256(file) });
    expect(sha256(back)).toBe(sha256(file));
  });
});
