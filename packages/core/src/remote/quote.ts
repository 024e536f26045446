import { quote } from 'shell-quote';
import { checkArgv } from '../events/internal.js';

/**
 * The one place a remote command line is built: an sshd runs commands through the user's shell,
 * so every argument is quoted for POSIX sh by `shell-quote` — spaces, quotes, `;`, `$()` and
 * backticks arrive as literal text and execute nothing.
 */
export function remoteCommand(argv: readonly string[]): string {
  return quote([...checkArgv('remoteCommand', argv)]);
}
