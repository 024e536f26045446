#!/usr/bin/env node
import { main } from './main.js';

// The exit code is set, not forced, so pending writes to stdout (a --json document) are flushed.
process.exitCode = await main();
