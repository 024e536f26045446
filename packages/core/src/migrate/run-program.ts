import { spawn } from 'node:child_process';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { Release, Task } from '../release/types.js';
import type { StepContext, StepDefinition } from '../stages/types.js';

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

/**
 * A `command` task: the program and its arguments, spawned without a shell in the release
 * directory (a program path containing `/` is taken relative to it). Output lines become `log`
 * events; a non-zero exit fails the step with the last lines of its stderr.
 */
export function commandStep(task: Task, release: Release): StepDefinition {
  const [program, ...args] = task.command ?? [];
  if (!program) throw new UpgradeKitError(ErrorCodes.BAD_INPUT, `task ${task.id}: no command`);
  const executable = program.includes('/') && !isAbsolute(program) ? resolve(release.dir, program) : program;
  return {
    ...base(task),
    kind: 'service',
    summary: `command: ${[program, ...args].map((a) => JSON.stringify(a)).join(' ')}`,
    run: (ctx) =>
      new Promise<void>((done, fail) => {
        const child = spawn(executable, args, {
          cwd: release.dir,
          signal: ctx.signal,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
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
        child.once('error', (error) =>
          fail(
            new UpgradeKitError(
              ErrorCodes.STEP_FAILED,
              `task ${task.id}: cannot run ${program}: ${error.message}`,
              { cause: error },
            ),
          ),
        );
        child.once('close', (code, signal) => {
          if (code === 0) return done();
          const why = signal ? `was killed by ${signal}` : `exited with code ${code}`;
          fail(
            new UpgradeKitError(
              ErrorCodes.STEP_FAILED,
              `task ${task.id}: ${program} ${why}${tail.length ? `:\n  ${tail.join('\n  ')}` : ''}`,
              {
                context: { task: task.id, code, signal },
              },
            ),
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
