#!/usr/bin/env node
import { main } from './main.js';
import { Exit } from './output.js';

// The exit code is set, not forced, so pending writes to stdout (a --json document) are flushed.
const code = await main();
process.exitCode = code;
// Stopped by a signal: whatever of the step is still running in this process (a tool module that
// ignores its signal, a timer) must not keep the command alive after it has reported. The timer
// does not itself hold the process: with nothing else running it exits at once, as usual.
if (code === Exit.interrupted || code === Exit.terminated) {
  setTimeout(() => process.exit(code), 200).unref();
}
