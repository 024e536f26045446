import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';
import { settings } from './services.js';

const run = promisify(execFile);

export interface ClientKey {
  readonly privateKeyPath: string;
  readonly privateKey: string;
  readonly publicKey: string;
}

export interface SshdHost {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly client: ClientKey;
  /** The host's public key line (`ssh-ed25519 AAAA…`). */
  readonly hostPublicKey: string;
  /** Its RSA key line (`ssh-rsa AAAA…`), when started with `rsa: true`. */
  readonly hostRsaPublicKey?: string;
  /** A known_hosts file naming only this host, for `ssh -o UserKnownHostsFile=…`. */
  readonly knownHostsPath: string;
  /** The `[host]:port key` line for this host. */
  readonly knownHostsLine: string;
  readonly dir: string;
  /** What sshd wrote to stderr so far (it runs with `-e`). */
  log(): string;
  stop(): Promise<void>;
}

async function keygen(path: string, comment: string, type = 'ed25519'): Promise<void> {
  await run('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', comment, '-f', path]);
}

/** A throwaway client key pair, shareable by several sshd instances. */
export async function createClientKey(dir?: string): Promise<ClientKey> {
  const base = dir ?? (await mkdtemp(join(tmpdir(), 'upgradekit-sshkey-')));
  const privateKeyPath = join(base, 'client_ed25519');
  await keygen(privateKeyPath, 'upgradekit-test-client');
  return {
    privateKeyPath,
    privateKey: await readFile(privateKeyPath, 'utf8'),
    publicKey: (await readFile(`${privateKeyPath}.pub`, 'utf8')).trim(),
  };
}

function waitForPort(host: string, port: number, child: ChildProcess, log: () => string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  return new Promise<void>((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        reject(
          new Error(`sshd on ${host}:${port} exited (${child.exitCode ?? child.signalCode}):\n${log()}`),
        );
        return;
      }
      const socket = connect({ host, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`sshd on ${host}:${port} did not listen:\n${log()}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

export interface StartSshdOptions {
  /** Loopback address to listen on; 127.0.0.2, 127.0.0.3, … stand for separate hosts. */
  readonly host?: string;
  readonly client?: ClientKey;
  /** Extra `sshd_config` lines (e.g. `ClientAliveInterval 1`). */
  readonly config?: readonly string[];
  /** Also give the host an RSA key (`hostRsaPublicKey`), as most real hosts have. */
  readonly rsa?: boolean;
}

/**
 * Starts a real OpenSSH `sshd` on a free port with generated host and client keys, as the
 * current user, without PAM. Stop it with `stop()`.
 *
 * @example
 * const host = await startSshd({ host: '127.0.0.2' });
 * // ssh -i host.client.privateKeyPath -p host.port -o UserKnownHostsFile=host.knownHostsPath …
 * await host.stop();
 */
export async function startSshd(options: StartSshdOptions = {}): Promise<SshdHost> {
  const host = options.host ?? '127.0.0.1';
  const dir = await mkdtemp(join(tmpdir(), `upgradekit-sshd-${host}-`));
  const client = options.client ?? (await createClientKey(dir));
  const hostKeyPath = join(dir, 'host_ed25519');
  await keygen(hostKeyPath, `upgradekit-test-host-${host}`);
  const publicLine = async (path: string) =>
    (await readFile(`${path}.pub`, 'utf8')).trim().split(' ').slice(0, 2).join(' ');
  const hostPublicKey = await publicLine(hostKeyPath);
  const rsaKeyPath = join(dir, 'host_rsa');
  if (options.rsa) await keygen(rsaKeyPath, `upgradekit-test-host-${host}`, 'rsa');
  const hostRsaPublicKey = options.rsa ? await publicLine(rsaKeyPath) : undefined;
  await writeFile(join(dir, 'authorized_keys'), `${client.publicKey}\n`, { mode: 0o600 });

  let lastError: unknown;
  for (let tries = 0; tries < 5; tries++) {
    const port = await freePort(host);
    const configPath = join(dir, 'sshd_config');
    await writeFile(
      configPath,
      [
        `Port ${port}`,
        `ListenAddress ${host}`,
        `HostKey ${hostKeyPath}`,
        ...(options.rsa ? [`HostKey ${rsaKeyPath}`] : []),
        `PidFile ${join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'UsePAM no',
        'StrictModes no',
        'PermitRootLogin yes',
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'Subsystem sftp internal-sftp',
        'MaxStartups 100:30:200',
        'MaxSessions 100',
        'LogLevel VERBOSE',
        ...(options.config ?? []),
        '',
      ].join('\n'),
    );
    let output = '';
    const child = spawn(settings.sshd.binary, ['-D', '-e', '-f', configPath], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    try {
      await waitForPort(host, port, child, () => output);
    } catch (error) {
      lastError = error;
      child.kill('SIGKILL');
      if (/Address already in use|Bind to port/i.test(output)) continue;
      throw error;
    }
    const knownHostsLine = `[${host}]:${port} ${hostPublicKey}`;
    const knownHostsPath = join(dir, 'known_hosts');
    await writeFile(knownHostsPath, `${knownHostsLine}\n`);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return {
      host,
      port,
      user: userInfo().username,
      client,
      hostPublicKey,
      ...(hostRsaPublicKey ? { hostRsaPublicKey } : {}),
      knownHostsPath,
      knownHostsLine,
      dir,
      log: () => output,
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  throw lastError;
}

/**
 * Several sshd "hosts" at once on 127.0.0.2, 127.0.0.3, …, sharing one client key.
 *
 * @example
 * const hosts = await startSshdHosts(4);
 * afterAll(() => Promise.all(hosts.map((h) => h.stop())));
 */
export async function startSshdHosts(
  count: number,
  options: Omit<StartSshdOptions, 'host'> = {},
): Promise<SshdHost[]> {
  const client = options.client ?? (await createClientKey());
  return Promise.all(
    Array.from({ length: count }, (_, i) => startSshd({ ...options, client, host: `127.0.0.${i + 2}` })),
  );
}

/** The `ssh` argument vector that reaches a test host with strict host-key checking. */
export function sshArgs(host: SshdHost, knownHostsPath = host.knownHostsPath): string[] {
  return [
    '-i',
    host.client.privateKeyPath,
    '-p',
    String(host.port),
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${knownHostsPath}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'LogLevel=ERROR',
    `${host.user}@${host.host}`,
  ];
}

/**
 * `SshSession.connect` options that reach a test host, with strict host-key checking against its
 * own known_hosts file unless `hostKeys` says otherwise.
 */
export function sessionOptions(
  host: SshdHost,
  hostKeys: { policy: 'strict' | 'accept-new'; knownHostsPath: string } = {
    policy: 'strict',
    knownHostsPath: host.knownHostsPath,
  },
) {
  return {
    host: host.host,
    port: host.port,
    username: host.user,
    privateKeyPath: host.client.privateKeyPath,
    hostKeys,
  };
}
