import { quote } from 'shell-quote';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';

/**
 * A command line for an operator to paste into a POSIX shell, from its argument vector: every
 * argument quoted by `shell-quote`, so a path with spaces, quotes or `$(…)` arrives as that one
 * argument and runs nothing. The only way a command is printed for pasting.
 *
 * @example
 * commandLine(['upgradekit', 'resolve', 'add_a', '--applied', '--release', 'rel $(touch x)']);
 * // upgradekit resolve add_a --applied --release 'rel $(touch x)'
 */
export function commandLine(argv: readonly string[]): string {
  return quote([...checkArgv('commandLine', argv)]);
}

/** An argument vector is a non-empty array of strings: a command line is never built from less. */
export function checkArgv(where: string, argv: unknown): readonly string[] {
  if (Array.isArray(argv) && argv.length > 0 && argv.every((a) => typeof a === 'string')) return argv;
  throw new UpgradeKitError(
    ErrorCodes.BAD_INPUT,
    `${where}: \`argv\` must be a non-empty array of strings, the program and its arguments (got ${Array.isArray(argv) ? `[${argv.map((a) => typeof a).join(', ')}]` : typeof argv})`,
    { context: { where } },
  );
}
