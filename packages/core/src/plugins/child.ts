// The child process that runs one call of an isolated plugin (see isolate.ts). It is started with
// a heap cap and in its own process group, receives one `call` message, answers over IPC and
// exits. Nothing here may write to stdout or stderr: the parent forwards those as plugin output.
import { Worker } from 'node:worker_threads';
import type { LogLevel } from '../events/index.js';
import { jsonProblem } from './context.js';
import { serializeError } from './failure.js';
import { importPlugin } from './load.js';
import { type CallMessage, type ChildMessage, invokeMethod } from './protocol.js';
import type { PluginCallContext, PluginLogger } from './types.js';

let called = false;
let answered = false;
const controller = new AbortController();

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send || !process.connected) {
      reject(new Error('the parent process is gone'));
      return;
    }
    try {
      process.send(message, undefined, {}, (error) => (error ? reject(error) : resolve()));
    } catch (error) {
      // JSON serialisation happens synchronously: a bigint or a cycle throws here.
      reject(error);
    }
  });
}

/** Sends the one answer, then exits: leftover timers or sockets of the plugin must not keep it alive. */
async function answer(message: ChildMessage & { type: 'result' | 'error' }): Promise<void> {
  if (answered) return;
  answered = true;
  try {
    await send(message);
  } catch (error) {
    if (message.type === 'result') {
      answered = false;
      await answer({ type: 'error', phase: 'result', error: serializeError(error) });
      return;
    }
  }
  process.exit(message.type === 'result' ? 0 : 1);
}

function log(level: LogLevel) {
  return (message: string, fields?: Record<string, unknown>): void => {
    const safe = fields === undefined || jsonProblem(fields, 'fields', new Set()) === undefined;
    void send({
      type: 'log',
      level,
      message: String(message),
      ...(fields && safe ? { fields } : {}),
    }).catch(() => {});
  };
}

const logger: PluginLogger = {
  debug: log('debug'),
  info: log('info'),
  warn: log('warn'),
  error: log('error'),
};

async function call(message: CallMessage): Promise<void> {
  let plugin: Awaited<ReturnType<typeof importPlugin>>;
  try {
    plugin = await importPlugin(message, 'runIsolated');
  } catch (error) {
    await answer({ type: 'error', phase: 'load', error: serializeError(error) });
    return;
  }
  await send({
    type: 'ready',
    plugin: {
      name: plugin.name,
      ...(plugin.version ? { version: plugin.version } : {}),
      ...(plugin.criticality ? { criticality: plugin.criticality } : {}),
    },
  }).catch(() => {});
  const context: PluginCallContext = { ...message.context, log: logger, signal: controller.signal };
  let outcome: { implemented: boolean; value: unknown };
  try {
    outcome = await invokeMethod(plugin, message.method, context);
  } catch (error) {
    await answer({ type: 'error', phase: 'call', error: serializeError(error) });
    return;
  }
  const problem = outcome.value === undefined ? undefined : jsonProblem(outcome.value, '', new Set());
  if (problem) {
    const error = new TypeError(`${problem.path ? `\`${problem.path}\`` : 'the value'} ${problem.what}`);
    await answer({ type: 'error', phase: 'result', error: serializeError(error) });
    return;
  }
  await answer({
    type: 'result',
    implemented: outcome.implemented,
    ...(outcome.value === undefined ? {} : { value: outcome.value }),
  });
}

// A plugin's stray callback that throws, or a promise it forgot, is its failure, reported as such.
for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
  process.on(event, (error: unknown) => {
    void answer({ type: 'error', phase: 'call', error: serializeError(error) });
  });
}

// The listener also keeps the IPC channel referenced, so a plugin that awaits forever hangs (and
// times out) instead of exiting quietly with nothing to say.
process.on('message', (message: { type?: string }) => {
  if (message?.type !== 'call' || called) return;
  called = true;
  void call(message as CallMessage);
});

// The parent is gone (crashed, killed): stop rather than run on as an orphan.
process.on('disconnect', () => {
  controller.abort(new Error('the upgrade process went away'));
  process.exit(1);
});

// The parent can die without a word (SIGKILL, a crash) while this thread is stuck in a plugin's
// synchronous loop, where no 'disconnect' handler can run. A watchdog thread notices that this
// process was orphaned and kills its whole group, so no plugin outlives its run by more than a second.
// (This process leads its group: the parent starts it detached.)
if (process.platform !== 'win32') {
  new Worker(
    `const ppid = ${process.ppid};
    setInterval(() => { if (process.ppid !== ppid) process.kill(-${process.pid}, 'SIGKILL'); }, 500);`,
    { eval: true },
  ).unref();
}
