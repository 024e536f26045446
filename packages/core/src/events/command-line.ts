import { quote } from 'shell-quote';

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
  if (argv.length === 0) throw new TypeError('commandLine: empty argv');
  return quote([...argv]);
}
