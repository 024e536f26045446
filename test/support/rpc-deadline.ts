// vitest's worker reports progress to the runner over an RPC whose 60 s deadline is fixed (no
// option reaches it). A worker busy past it — a slow machine, a long synchronous step — loses
// one progress report's reply, and vitest counts that as an unhandled error, failing a run in
// which every test passed (vitest-dev/vitest#6479). Only that one message is let through, and
// said; every other unhandled rejection still reaches vitest and fails the run.
const LOST_PROGRESS = /^\[vitest-worker\]: Timeout calling "onTaskUpdate"$/;
const flag = Symbol.for('upgradekit.rpcDeadline');

if (!(globalThis as Record<symbol, unknown>)[flag]) {
  (globalThis as Record<symbol, unknown>)[flag] = true;
  const vitests = process.listeners('unhandledRejection');
  process.removeAllListeners('unhandledRejection');
  process.on('unhandledRejection', (reason, promise) => {
    if (reason instanceof Error && LOST_PROGRESS.test(reason.message)) {
      process.stderr.write(
        `[test kit] ${reason.message}: a progress report's reply came late; no result is lost\n`,
      );
      return;
    }
    for (const listener of vitests) listener.call(process, reason, promise);
  });
}
