import { spawn } from 'node:child_process';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { formatDuration } from '../events/internal.js';
import type { StepContext, StepDefinition } from '../model/index.js';
import type { Release, Task } from '../release/index.js';
import { processGroup } from '../service/internal.js';

const TAIL = 20;

/** What a tool module's `run` receives: the step context plus the task it runs for. */
export type ToolContext = StepContext & { readonly task: Task; readonly release: Release };
export type ToolFunction = (ctx: ToolContext) => unknown;

function base(task: Task): Omit<StepDefinition, 'run'> {
  return {
    id: task.id,
    name: task.description ?? task.id,
    version: task.version,
    checksum: task.checksum,
    changesData: true,
    ...(task.timeoutMs ? { timeoutMs: task.timeoutMs } : {}),
    ...(task.retry?.attempts ? { retry: { attempts: task.retry.attempts } } : {}),
    ...(task.criticality ? { criticality: task.criticality } : {}),
    // A program's effects are unknown to us: only the author can promise a re-run is safe.
    idempotent: task.idempotent ?? false,
  };
}

/** How long a program has to stop once asked, before it is killed (task `stopGrace`). */
export const DEFAULT_STOP_GRACE_MS = 5000;

/**
 * A `command` task: the program and its arguments, spawned without a shell in the release
 * directory (a program path containing `/` is taken relative to it). Output lines become `log`
 * events; a non-zero exit fails the step with the last lines of its stderr.
 *
 * Cancelled (Ctrl-C, SIGTERM, its timeout), the program and everything it started get SIGTERM; one
 * still there after the task's `stopGrace` (default 5 s) is killed. The error says which, and that
 * what it did is in doubt: a program's effects are unknown to the runner.
 */
export function commandStep(task: Task, release: Release): StepDefinition {
  const [program, ...args] = task.command ?? [];
  if (!program) throw new UpgradeKitError(ErrorCodes.BAD_INPUT, `task ${task.id}: no command`);
  const executable = program.includes('/') && !isAbsolute(program) ? resolve(release.dir, program) : program;
  const graceMs = task.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
  return {
    ...base(task),
    kind: 'service',
    // The run waits for the kill to land and the output to close before it reports.
    stopGraceMs: graceMs + 2000,
    summary: `command: ${[program, ...args].map((a) => JSON.stringify(a)).join(' ')}`,
    run: (ctx) =>
      new Promise<void>((done, fail) => {
        ctx.signal.throwIfAborted();
        // Its own process group, so a stop reaches what it started too (see processGroup).
        const child = spawn(executable, args, {
          cwd: release.dir,
          detached: true,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const group = processGroup(child, graceMs);
        const onAbort = () => group.stop();
        ctx.signal.addEventListener('abort', onAbort, { once: true });
        ctx.inFlight?.(
          `${program} (pid ${child.pid}) is running: it is killed as upgradekit exits, and what it did is ${task.idempotent ? 'partial; the task is idempotent, so the next run runs it again' : 'in doubt until you resolve the task (applied or retry)'}`,
        );
        const tail: string[] = [];
        const lines = (level: 'info' | 'warn') => (chunk: Buffer) => {
          for (const line of chunk.toString().split('\n').filter(Boolean)) {
            if (level === 'warn') {
              tail.push(line);
              if (tail.length > TAIL) tail.shift();
            }
            ctx.log[level](line, { task: task.id });
          }
        };
        child.stdout.on('data', lines('info'));
        child.stderr.on('data', lines('warn'));
        // Something that left the group (setsid) may hold the output open: once the program is
        // gone, give its output a moment, then stop reading.
        child.once('exit', () => {
          setTimeout(() => {
            child.stdout.destroy();
            child.stderr.destroy();
          }, 1000).unref();
        });
        const settle = () => {
          ctx.signal.removeEventListener('abort', onAbort);
          group.release();
        };
        child.once('error', (error) => {
          settle();
          fail(
            new UpgradeKitError(
              ErrorCodes.STEP_FAILED,
              `task ${task.id}: cannot run ${program}: ${error.message}`,
              { cause: error },
            ),
          );
        });
        child.once('close', (code, signal) => {
          settle();
          if (code === 0) return done();
          const output = tail.length ? `:\n  ${tail.join('\n  ')}` : '';
          const stop = group.state;
          if (stop.askedAt !== undefined) {
            const after = formatDuration(performance.now() - stop.askedAt);
            const how = stop.killed
              ? `ignored SIGTERM for ${formatDuration(graceMs)} and was killed (SIGKILL, with everything it started)`
              : `stopped on SIGTERM (${signal ? `killed by ${signal}` : `exit code ${code}`}) after ${after}`;
            const left = task.idempotent
              ? 'what it did may be partial; the task is idempotent, so the next run runs it again'
              : 'what it did is in doubt: the next run asks you to resolve the task (applied or retry)';
            return fail(
              new UpgradeKitError(
                ErrorCodes.ABORTED,
                `${program} (pid ${child.pid}) ${how}; ${left}${output}`,
                {
                  context: { task: task.id, code, signal, killed: stop.killed, outcome: 'in-doubt' },
                },
              ),
            );
          }
          const why = signal ? `was killed by ${signal}` : `exited with code ${code}`;
          fail(
            new UpgradeKitError(ErrorCodes.STEP_FAILED, `task ${task.id}: ${program} ${why}${output}`, {
              context: { task: task.id, code, signal },
            }),
          );
        });
      }),
  };
}

/**
 * A `tool` task: a module in the release (or an installed package) exporting `run(ctx)` — as a
 * named export, a default function, or a default object with `run` (the seed's tool.{uid}.package).
 */
export function toolStep(task: Task, release: Release): StepDefinition {
  const specifier = task.package;
  if (!specifier) throw new UpgradeKitError(ErrorCodes.BAD_INPUT, `task ${task.id}: no package`);
  return {
    ...base(task),
    // A module runs in this process: it cannot be killed, only waited for, this long.
    stopGraceMs: task.stopGraceMs ?? DEFAULT_STOP_GRACE_MS,
    summary: `tool: ${specifier}`,
    run: async (ctx) => {
      const url = isAbsolute(specifier) ? pathToFileURL(specifier).href : specifier;
      let module: Record<string, unknown>;
      try {
        module = (await import(url)) as Record<string, unknown>;
      } catch (error) {
        throw new UpgradeKitError(
          ErrorCodes.BAD_INPUT,
          `task ${task.id}: cannot load tool ${specifier}: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      }
      const fallback = module.default as { run?: unknown } | ((ctx: ToolContext) => unknown) | undefined;
      const run = (module.run ?? (typeof fallback === 'function' ? fallback : fallback?.run)) as
        | ToolFunction
        | undefined;
      if (typeof run !== 'function') {
        throw new UpgradeKitError(
          ErrorCodes.BAD_INPUT,
          `task ${task.id}: tool ${specifier} exports no run(ctx) function (named, default, or default.run)`,
        );
      }
      await run(Object.assign(Object.create(ctx) as StepContext, { task, release }) as ToolContext);
    },
  };
}
