// The seven upgrade flows of seed 004 §4.2.1, with the retry rules of its §4.2.2 table, declared
// as upgradekit steps. The actions are stubs on local directories (a "node" is a folder), so the
// rules can be exercised anywhere; a real pipeline swaps in transfers, dumps and service control.
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { StepContext, StepDefinition, Upgrade } from '@upgradekit/core';

export interface PipelineOptions {
  /** Working root: `source/` holds the packages, `node/` stands for the target host. */
  readonly root: string;
  /** Step id → how many times its action fails before it works (persisted in `faults.json`). */
  readonly faults?: Readonly<Record<string, number>>;
  /** Retry delays are shortened for tests and demos. */
  readonly delayMs?: number;
}

/** Appends to `journal.log`: what ran, failed and was cleaned up, in order. */
export function journal(root: string): string[] {
  const path = join(root, 'journal.log');
  return existsSync(path) ? readFileSync(path, 'utf8').trimEnd().split('\n') : [];
}

function write(root: string, line: string): void {
  appendFileSync(join(root, 'journal.log'), `${line}\n`);
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Copy through a temporary name and rename, as the transfer manager does: no half file at the final path. */
function upload(from: string, to: string): void {
  mkdirSync(join(to, '..'), { recursive: true });
  writeFileSync(`${to}.part`, readFileSync(from));
  renameSync(`${to}.part`, to);
}

/** Prepares the stub world: a tool package and a software package to distribute. */
export function prepareWorld(root: string): void {
  mkdirSync(join(root, 'source'), { recursive: true });
  mkdirSync(join(root, 'node'), { recursive: true });
  writeFileSync(join(root, 'source', 'upgrade-tools.tar'), 'tools v2.16.7\n'.repeat(100));
  writeFileSync(join(root, 'source', 'app-2.16.7.tar'), 'application v2.16.7\n'.repeat(1000));
  writeFileSync(join(root, 'node', 'hosts.json'), JSON.stringify([{ name: 'node1', address: '127.0.0.2' }]));
}

/**
 * Registers the pipeline's steps on an upgrade. Stage mapping: init and tool distribution at the
 * `install` cut-point, pre-checks at `resourceCheck`/`businessCheck`, package distribution and
 * backup at `preUpgrade` (before the graceful stop), the upgrade itself at `preStart`, post-checks
 * at `postStart`.
 */
export function declarePipeline(upgrade: Upgrade, options: PipelineOptions): void {
  const { root } = options;
  const node = join(root, 'node');
  const retry = (attempts: number) => ({ attempts, minDelayMs: options.delayMs ?? 1000, jitter: false });
  const faultsFile = join(root, 'faults.json');
  if (options.faults && !existsSync(faultsFile)) writeFileSync(faultsFile, JSON.stringify(options.faults));

  /** Runs the stub action, failing as many times as the fault plan says. */
  const act =
    <S extends Parameters<Upgrade['step']>[0]>(
      id: string,
      action: (ctx: StepContext<S>) => void,
      code = 'ECONNRESET',
    ) =>
    (ctx: StepContext<S>) => {
      const faults = existsSync(faultsFile)
        ? (JSON.parse(readFileSync(faultsFile, 'utf8')) as Record<string, number>)
        : {};
      if ((faults[id] ?? 0) > 0) {
        faults[id]!--;
        writeFileSync(faultsFile, JSON.stringify(faults));
        write(root, `fail ${id}`);
        throw Object.assign(new Error(`simulated failure of ${id}`), { code });
      }
      write(root, `run ${id}`);
      action(ctx);
    };
  const cleanup = (id: string, paths: string[]) => () => {
    write(root, `cleanup ${id}`);
    for (const p of paths) rmSync(join(node, p), { recursive: true, force: true });
  };
  const marker = (name: string) => () => writeFileSync(join(node, name), 'ok');
  const has = (name: string) => () => existsSync(join(node, name));

  // 1. Init — on failure "重新发起升级": clean everything up and start the run over.
  const init: StepDefinition<'install'>[] = [
    {
      id: 'load-packages',
      name: 'Load software package and upgrade tools',
      run: act('load-packages', marker('loaded')),
      cleanup: cleanup('load-packages', ['loaded']),
      scope: 'run',
      retry: retry(2),
      idempotent: true,
    },
    {
      id: 'load-ssh-info',
      name: 'Load node SSH information',
      run: act('load-ssh-info', () => JSON.parse(readFileSync(join(node, 'hosts.json'), 'utf8'))),
      scope: 'run',
      retry: retry(2),
      idempotent: true,
    },
    // 2. Distribute the upgrade tools — retry directly after removing residual files.
    {
      id: 'upload-tools',
      name: 'Upload the upgrade tool package',
      run: act('upload-tools', () => {
        upload(join(root, 'source', 'upgrade-tools.tar'), join(node, 'tools', 'upgrade-tools.tar'));
        mkdirSync(join(node, 'tools', 'unpacked'), { recursive: true });
      }),
      cleanup: cleanup('upload-tools', ['tools']),
      retry: retry(3),
      idempotent: true,
    },
  ];
  for (const step of init) upgrade.step('install', step);

  // 3. Pre-checks — "整体重试": every failure collected, then all failed checks re-run together.
  for (const id of ['check-disk', 'check-memory']) {
    upgrade.step('resourceCheck', { id, run: act(id, () => {}), retry: retry(2) });
  }
  for (const id of ['check-selinux', 'check-user-2048', 'check-patches']) {
    upgrade.step('businessCheck', { id, run: act(id, () => {}), retry: retry(2) });
  }

  // 4. Distribute the software package — skip when the sha256 matches, remove a partial file before retrying.
  upgrade.step('preUpgrade', {
    id: 'upload-package',
    name: 'Upload the software package',
    run: act('upload-package', () =>
      upload(join(root, 'source', 'app-2.16.7.tar'), join(node, 'pkg', 'app.tar')),
    ),
    skipIf: () =>
      existsSync(join(node, 'pkg', 'app.tar')) &&
      sha256(join(node, 'pkg', 'app.tar')) === sha256(join(root, 'source', 'app-2.16.7.tar')),
    cleanup: cleanup('upload-package', ['pkg/app.tar.part', 'pkg/app.tar']),
    retry: retry(3),
  });

  // 5. Backup — each step retried directly; backups skipped when a complete one exists.
  const backupSteps: StepDefinition<'preUpgrade'>[] = [
    {
      id: 'stop-business',
      run: act('stop-business', marker('business-stopped')),
      retry: retry(3),
      idempotent: true,
    },
    {
      id: 'backup-database',
      run: act('backup-database', () => {
        mkdirSync(join(node, 'backup'), { recursive: true });
        writeFileSync(join(node, 'backup', 'db.sql'), 'CREATE TABLE t (id INT);\n-- Dump completed\n');
      }),
      skipIf: () =>
        existsSync(join(node, 'backup', 'db.sql')) &&
        readFileSync(join(node, 'backup', 'db.sql'), 'utf8').includes('-- Dump completed'),
      cleanup: cleanup('backup-database', ['backup/db.sql']),
      retry: retry(3),
    },
    {
      id: 'stop-database',
      run: act('stop-database', marker('db-stopped')),
      retry: retry(3),
      idempotent: true,
    },
    {
      id: 'backup-local-data',
      run: act('backup-local-data', marker('backup/local.done')),
      skipIf: has('backup/local.done'),
      cleanup: cleanup('backup-local-data', ['backup/local.done']),
      retry: retry(3),
    },
    { id: 'custom-plugin', run: act('custom-plugin', () => {}), retry: retry(3), idempotent: true },
    {
      id: 'remove-services',
      run: act('remove-services', marker('services-removed')),
      retry: retry(3),
      idempotent: true,
    },
  ];
  for (const step of backupSteps) upgrade.step('preUpgrade', step);

  // 6. Upgrade — direct retries where safe; "从解压开始重试" (full cleanup, restart at unpack) where not.
  const fromUnpack = { scope: 'from:unpack' as const, retry: retry(3) };
  const upgradeSteps: StepDefinition<'preStart'>[] = [
    {
      id: 'unpack',
      run: act('unpack', () => mkdirSync(join(node, 'app-new'), { recursive: true })),
      cleanup: cleanup('unpack', ['app-new']),
      retry: retry(3),
      idempotent: true,
    },
    {
      id: 'pre-install-config',
      run: act('pre-install-config', marker('app-new/pre.conf')),
      cleanup: cleanup('pre-install-config', ['app-new/pre.conf']),
      ...fromUnpack,
    },
    {
      id: 'install-upgrade-mode',
      run: act('install-upgrade-mode', marker('app-new/installed')),
      cleanup: cleanup('install-upgrade-mode', ['app-new/installed']),
      ...fromUnpack,
    },
    {
      id: 'start-database',
      run: act('start-database', marker('db-started')),
      retry: retry(3),
      idempotent: true,
    },
    { id: 'start-kmc', run: act('start-kmc', marker('kmc-started')), retry: retry(3), idempotent: true },
    {
      id: 'start-etcd',
      run: act('start-etcd', marker('etcd-started')),
      skipIf: has('etcd-started'),
      retry: retry(3),
    },
    {
      id: 'init-db-admin',
      run: act('init-db-admin', marker('db-admin')),
      skipIf: has('db-admin'),
      retry: retry(3),
    },
    { id: 'import-db-data', run: act('import-db-data', () => {}), retry: retry(3), idempotent: true },
    { id: 'create-service-db', run: act('create-service-db', () => {}), retry: retry(3), idempotent: true },
    {
      id: 'db-migrate',
      run: act('db-migrate', marker('app-new/migrated')),
      cleanup: cleanup('db-migrate', ['app-new/migrated']),
      ...fromUnpack,
    },
    {
      id: 'post-install-config',
      run: act('post-install-config', marker('app-new/post.conf')),
      cleanup: cleanup('post-install-config', ['app-new/post.conf']),
      ...fromUnpack,
    },
    {
      id: 'db-data-upgrade',
      run: act('db-data-upgrade', marker('app-new/data-upgraded')),
      cleanup: cleanup('db-data-upgrade', ['app-new/data-upgraded']),
      ...fromUnpack,
    },
    {
      id: 'start-services',
      run: act('start-services', marker('services-started')),
      retry: retry(3),
      idempotent: true,
    },
  ];
  for (const step of upgradeSteps) upgrade.step('preStart', step);

  // 7. Post-check — retried directly.
  upgrade.step('postStart', {
    id: 'check-services-up',
    run: act('check-services-up', () => {
      if (!existsSync(join(node, 'services-started'))) throw new Error('services are not running');
    }),
    retry: retry(3),
    idempotent: true,
  });
}
