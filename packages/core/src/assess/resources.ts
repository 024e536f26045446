import type { Task } from '../release/index.js';
import { estimateBackup } from './backup-size.js';
import type { ResolvedAssessOptions } from './options.js';
import { probeLocal, probeRemote } from './probe.js';
import { bytes, sectionStatus } from './status.js';
import type {
  BackupEstimate,
  CheckResult,
  CheckStatus,
  DiskFigures,
  HostResources,
  ResourceNeed,
  ResourcesSection,
} from './types.js';

interface DiskNeed {
  readonly host: string;
  readonly path: string;
  /** Needed for a pass (with margins). */
  readonly required: number;
  /** Needed at all; between the two is a warning (seed: 资源紧张). */
  readonly minimum: number;
  readonly parts: string[];
}

/** Three-band rule of the seed: enough → pass, tight → warn (confirm), short → fail. */
function band(actual: number, required: number, minimum: number): CheckStatus {
  if (actual >= required) return 'pass';
  return actual >= minimum ? 'warn' : 'fail';
}

/** How a measured figure is judged and explained; `need` and `minimum` bound the bands. */
interface FigureRule {
  readonly need: number;
  readonly minimum: number;
  readonly detail: (figure: number) => string;
  /** What to do when the figure is below `need`. */
  readonly suggestion: string;
  readonly data: (figure: number) => Readonly<Record<string, unknown>>;
}

/** A host's CPU or memory check: skipped when the probe could not read the figure, else banded. */
function figureCheck(
  check: { readonly id: string; readonly title: string; readonly host: string },
  figure: number | undefined,
  unavailable: string,
  rule: FigureRule,
): CheckResult {
  const { id, title, host } = check;
  if (figure === undefined) return { id, title, status: 'skip', host, detail: unavailable };
  return {
    id,
    title,
    host,
    status: band(figure, rule.need, rule.minimum),
    detail: rule.detail(figure),
    ...(figure >= rule.need ? {} : { suggestion: rule.suggestion }),
    data: rule.data(figure),
  };
}

function declaredNeeds(tasks: readonly Task[], o: ResolvedAssessOptions) {
  let disk = o.needs.diskBytes;
  let memory = o.needs.memoryBytes;
  let cpu = o.needs.cpuPercent;
  for (const t of tasks) {
    disk += t.resources?.diskBytes ?? 0;
    // Tasks run one after another: the largest one sets the memory need.
    memory = Math.max(memory, t.resources?.memoryBytes ?? 0);
  }
  for (const p of o.plugins) {
    const r = p.resources;
    if (!r) continue;
    disk += (r.diskBytes ?? 0) + (r.datasources ?? []).reduce((a, d) => a + (d.diskBytes ?? 0), 0);
    memory = Math.max(memory, r.memoryBytes ?? 0);
    cpu = Math.max(cpu, r.cpuPercent ?? 0);
  }
  return { disk, memory, cpu };
}

/**
 * Resource section (seed 001 §5.2.1): every host probed at once, every datasource sized at once,
 * then free CPU, memory and disk weighed against thresholds and needs.
 */
export async function assessResources(
  tasks: readonly Task[],
  o: ResolvedAssessOptions,
): Promise<ResourcesSection> {
  const localPaths = o.local === false ? [] : (o.local.paths ?? [process.cwd()]);
  const defaultHost = o.local !== false ? 'local' : o.hosts[0]?.name;
  const backupHost = o.backup.host ?? defaultHost;
  const backupHostPaths =
    backupHost === 'local' ? localPaths : (o.hosts.find((h) => h.name === backupHost)?.paths ?? []);
  const backupPath = o.backup.path ?? backupHostPaths[0];
  const pathsOf = (host: string, base: readonly string[]) => {
    const extra = [
      ...(backupHost === host && backupPath ? [backupPath] : []),
      ...o.backup.dualWrite.flatMap((d) => ((d.host ?? defaultHost) === host && d.path ? [d.path] : [])),
    ];
    return [...new Set([...base, ...extra])];
  };
  const signal = o.signal ? { signal: o.signal } : {};
  const probes: Promise<HostResources>[] = [];
  if (o.local !== false) probes.push(probeLocal(pathsOf('local', localPaths), { sampleMs: o.cpuSampleMs }));
  for (const h of o.hosts) {
    probes.push(
      probeRemote(h.name, h.session, pathsOf(h.name, h.paths), {
        sampleMs: o.cpuSampleMs,
        timeoutMs: o.probeTimeoutMs,
        ...signal,
      }),
    );
  }
  const sized = o.backup.datasources ?? Object.keys(o.connections);
  const backupsPromise = Promise.all(
    sized.map((name): Promise<BackupEstimate> => {
      const connection = o.connections[name];
      if (!connection) {
        return Promise.resolve({
          datasource: name,
          type: o.release?.datasources[name]?.type ?? 'unknown',
          status: 'skip',
          detail: 'no connection for this datasource at this site: nothing to size',
        });
      }
      const dual = o.backup.dualWrite.some((d) => d.datasource === name);
      const type = o.release?.datasources[name]?.type;
      return estimateBackup(name, connection, {
        ...(type ? { type } : {}),
        factor: o.backup.factor,
        dualWrite: dual,
        dualWriteBuffer: o.backup.dualWriteBuffer,
        rollback: o.backup.rollback,
        timeoutMs: o.duration.queryTimeoutMs,
        ...signal,
      });
    }),
  );
  const [hosts, backups] = await Promise.all([Promise.all(probes), backupsPromise]);

  const declared = declaredNeeds(tasks, o);
  const backupBytes = backups.reduce((a, b) => a + (b.backupBytes ?? 0), 0);
  const dualWriteBytes = backups.reduce((a, b) => a + (b.dualWriteBytes ?? 0), 0);
  const toolHost = o.local !== false ? 'local' : o.hosts[0]?.name;

  const needs = new Map<string, DiskNeed>();
  const need = (host: string, path: string | undefined, required: number, minimum: number, part: string) => {
    if (!path || (required === 0 && minimum === 0)) return;
    const key = `${host}\u0000${path}`;
    const n = needs.get(key) ?? { host, path, required: 0, minimum: 0, parts: [] };
    needs.set(key, {
      ...n,
      required: n.required + required,
      minimum: n.minimum + minimum,
      parts: [...n.parts, part],
    });
  };
  if (toolHost) {
    const toolPath = toolHost === 'local' ? localPaths[0] : o.hosts[0]?.paths[0];
    need(
      toolHost,
      toolPath,
      declared.disk,
      declared.disk,
      `declared by tasks and plugins ${bytes(declared.disk)}`,
    );
  }
  for (const h of o.hosts)
    need(h.name, h.paths[0], h.diskBytes, h.diskBytes, `needed on the host ${bytes(h.diskBytes)}`);
  need(
    backupHost ?? 'local',
    backupPath,
    backupBytes * o.thresholds.diskBackupFactor,
    backupBytes,
    `backup ${bytes(backupBytes)} × ${o.thresholds.diskBackupFactor}`,
  );
  for (const d of o.backup.dualWrite) {
    const b = backups.find((x) => x.datasource === d.datasource)?.dualWriteBytes ?? 0;
    const host = d.host ?? defaultHost;
    if (!host) continue;
    const path =
      d.path ?? (host === 'local' ? localPaths[0] : o.hosts.find((h) => h.name === host)?.paths[0]);
    need(host, path, b, b, `dual write of ${d.datasource} ${bytes(b)}`);
  }

  const checks: CheckResult[] = [];
  for (const h of hosts) {
    const id = `resources.${h.host}`;
    if (h.error && h.disks.length === 0) {
      checks.push({
        id: `${id}.reachable`,
        title: `Probe ${h.host}`,
        status: 'fail',
        host: h.host,
        detail: `could not read the resources of ${h.host}: ${h.error}`,
        suggestion:
          'Check that the host is up and reachable over SSH with the configured key, then assess again.',
      });
      continue;
    }
    if (h.error) {
      checks.push({
        id: `${id}.probe`,
        title: `Probe ${h.host}`,
        status: 'warn',
        host: h.host,
        detail: `the probe of ${h.host} did not complete; figures may be missing: ${h.error}`,
        suggestion: 'Check that /proc, df and nproc are available to the upgrade user on the host.',
      });
    }
    const isTool = h.host === toolHost;
    const cpuNeed = Math.max(o.thresholds.cpuIdlePercent, isTool ? declared.cpu : 0);
    // This machine merely orchestrates unless it runs components or tasks here declare CPU: how
    // busy it is (a shared CI runner always is) says nothing about the upgrade.
    const orchestratorOnly =
      h.host === 'local' && o.local !== false && !o.local.host && !(isTool && declared.cpu > 0);
    checks.push(
      orchestratorOnly
        ? {
            id: `${id}.cpu`,
            title: `CPU idle on ${h.host}`,
            status: 'skip',
            host: h.host,
            detail: `${h.cpuIdlePercent ?? '?'}% idle, not judged: this machine only orchestrates the upgrade (set assessment.localIsHost: true in the site configuration when it runs the components)`,
            ...(h.cpuIdlePercent === undefined
              ? {}
              : { data: { cpuIdlePercent: h.cpuIdlePercent, cpus: h.cpus } }),
          }
        : figureCheck(
            { id: `${id}.cpu`, title: `CPU idle on ${h.host}`, host: h.host },
            h.cpuIdlePercent,
            'CPU figures unavailable',
            {
              need: cpuNeed,
              minimum: cpuNeed / 2,
              detail: (idle) => `${idle}% idle of ${h.cpus ?? '?'} CPUs (need ≥ ${cpuNeed}%)`,
              suggestion: `Stop batch jobs or wait for an off-peak window; or accept it for this run (--accept ${id}.cpu, the Action's accept input), or lower assessment.thresholds.cpuIdlePercent in the site configuration.`,
              data: (idle) => ({ cpuIdlePercent: idle, cpus: h.cpus, requiredIdlePercent: cpuNeed }),
            },
          ),
    );
    const memNeed = Math.max(
      o.thresholds.memoryBytes,
      isTool ? declared.memory : 0,
      isTool ? 0 : (o.hosts.find((x) => x.name === h.host)?.memoryBytes ?? 0),
    );
    const memMin = Math.max(isTool ? declared.memory : 0, memNeed / 2);
    checks.push(
      figureCheck(
        { id: `${id}.memory`, title: `Free memory on ${h.host}`, host: h.host },
        h.memoryAvailableBytes,
        'memory figures unavailable',
        {
          need: memNeed,
          minimum: memMin,
          detail: (free) =>
            `${bytes(free)} available of ${bytes(h.memoryTotalBytes)} (need ≥ ${bytes(memNeed)})`,
          suggestion: `Free memory on the host; or accept it for this run (--accept ${id}.memory, the Action's accept input), or lower assessment.thresholds.memoryBytes in the site configuration.`,
          data: (free) => ({ availableBytes: free, totalBytes: h.memoryTotalBytes, requiredBytes: memNeed }),
        },
      ),
    );
    // Paths on one file system share its free space: their needs add up and are judged once.
    const groups = new Map<string, DiskFigures[]>();
    for (const d of h.disks) {
      const key = d.freeBytes === undefined ? `path:${d.path}` : (d.device ?? `path:${d.measured ?? d.path}`);
      groups.set(key, [...(groups.get(key) ?? []), d]);
    }
    for (const disks of groups.values()) {
      const d = disks[0]!;
      const paths = disks.map((x) => x.path).join(', ');
      const parts = disks.flatMap((x) => needs.get(`${h.host}\u0000${x.path}`) ?? []);
      const n =
        parts.length === 0
          ? undefined
          : {
              required: parts.reduce((a, x) => a + x.required, 0),
              minimum: parts.reduce((a, x) => a + x.minimum, 0),
              parts: parts.flatMap((x) => x.parts),
            };
      const cid = `${id}.disk:${d.path}`;
      const title = `Free disk at ${h.host}:${paths}`;
      if (d.freeBytes === undefined) {
        checks.push({
          id: cid,
          title,
          status: n ? 'fail' : 'warn',
          host: h.host,
          detail: `could not measure ${d.measured ?? d.path}: ${d.error ?? 'no figures'}`,
          suggestion: 'Check that the path is on a mounted file system the upgrade user can read.',
        });
        continue;
      }
      const status = n ? band(d.freeBytes, n.required, n.minimum) : 'pass';
      const measured = disks.filter((x) => x.measured && x.measured !== x.path).map((x) => x.measured);
      checks.push({
        id: cid,
        title,
        host: h.host,
        status,
        detail: `${bytes(d.freeBytes)} free of ${bytes(d.totalBytes)}${measured.length ? ` (measured at ${measured.join(', ')})` : ''}${
          n ? `; need ${bytes(n.required)} (${n.parts.join(' + ')}), at least ${bytes(n.minimum)}` : ''
        }`,
        ...(status === 'pass'
          ? {}
          : {
              suggestion:
                'Extend the disk or point the backup elsewhere; clean up old backups, logs and caches (upgradekit backup cleanup).',
            }),
        data: {
          paths: disks.map((x) => x.path),
          freeBytes: d.freeBytes,
          totalBytes: d.totalBytes,
          requiredBytes: n?.required ?? 0,
          minimumBytes: n?.minimum ?? 0,
        },
      });
    }
  }
  for (const b of backups) {
    if (b.status === 'pass') continue;
    checks.push({
      id: `resources.backup.${b.datasource}`,
      title: `Backup size of ${b.datasource}`,
      status: b.status === 'fail' ? 'warn' : 'skip',
      detail: b.detail,
      ...(b.status === 'fail'
        ? {
            suggestion:
              'The disk check leaves this datasource out: check its connection, or size its backup by hand.',
          }
        : {}),
    });
  }
  for (const b of backups) {
    if (!b.rollbackBlocked) continue;
    checks.push({
      id: `resources.rollback.${b.datasource}`,
      title: `Rollback of ${b.datasource}`,
      status: 'warn',
      ...b.rollbackBlocked,
    });
  }
  const resourceNeed: ResourceNeed = {
    backupBytes,
    dualWriteBytes,
    declaredDiskBytes: declared.disk,
    declaredMemoryBytes: declared.memory,
    declaredCpuPercent: declared.cpu,
    ...(backupHost ? { backupHost } : {}),
    ...(backupPath ? { backupPath } : {}),
  };
  return { status: sectionStatus(checks), checks, hosts, backups, need: resourceNeed };
}
