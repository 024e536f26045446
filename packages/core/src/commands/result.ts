// What every command hands back, whichever surface runs it: the CLI maps `exitClass` to an exit
// code and prints `text` and `notes`; the Action sets `status` as an output, writes `markdown` as
// the job summary and `annotations` as annotations; both emit `document` as the JSON report.
import { commandLine } from '../events/index.js';
import type { CommandName } from './input.js';

/** DESIGN §4: 0 ok, 1 failed, 2 bad input, 3 an operator must decide; 130/143 a signal stopped it. */
export type ExitClass = 'ok' | 'failed' | 'bad-input' | 'decision' | 'interrupted' | 'terminated';

/** A failure (or warning) a workflow shows at its file and line. */
export interface Annotation {
  readonly level: 'error' | 'warning';
  readonly title: string;
  readonly message: string;
  readonly file?: string;
  readonly line?: number;
}

/** A command to run next, as an argument vector (never a shell string), and when to run it. */
export interface NextCommand {
  readonly why: string;
  readonly argv: readonly string[];
}

export interface CommandResult {
  readonly command: CommandName;
  /** The status word: the Action's `status` output and the document's `status`. */
  readonly status: string;
  readonly exitClass: ExitClass;
  /** `rolling` or `stop`, when the command planned an upgrade. */
  readonly mode?: string;
  /** The JSON document (CLI `--json`, the Action's report): the same for both. */
  readonly document: Record<string, unknown>;
  /** The report for a terminal (stdout). */
  readonly text: readonly string[];
  /** What the operator should read beside the report: why it stopped, what to do (stderr). */
  readonly notes: readonly string[];
  /** Each failed step's whole message and statement, for `--verbose`. */
  readonly details: readonly string[];
  /** The job summary. */
  readonly markdown: string;
  readonly annotations: readonly Annotation[];
  readonly nextCommands: readonly NextCommand[];
  /** One line an operator reads first when the command did not succeed. */
  readonly failure?: string;
}

export type ResultParts = Omit<
  CommandResult,
  'document' | 'details' | 'annotations' | 'nextCommands' | 'notes'
> & {
  readonly document: Record<string, unknown>;
  readonly notes?: readonly string[];
  readonly details?: readonly string[];
  readonly annotations?: readonly Annotation[];
  readonly nextCommands?: readonly NextCommand[];
};

/** A result whose document leads with what every document has: command, ok, status, exit class. */
export function commandResult(parts: ResultParts): CommandResult {
  return {
    notes: [],
    details: [],
    annotations: [],
    nextCommands: [],
    ...parts,
    document: toJson({
      command: parts.command,
      ok: parts.exitClass === 'ok',
      status: parts.status,
      exitClass: parts.exitClass,
      ...(parts.mode ? { mode: parts.mode } : {}),
      ...parts.document,
      ...(parts.nextCommands?.length ? { next: parts.nextCommands } : {}),
    }) as Record<string, unknown>,
  };
}

// A backup that fails verification is refused before anything is touched: the operator picks another.
const BAD_INPUT = new Set(['UPGRADEKIT_BAD_INPUT', 'UPGRADEKIT_BAD_VERSION', 'UPGRADEKIT_BACKUP_INVALID']);
const DECISION = new Set(['UPGRADEKIT_IN_DOUBT']);

/** The exit class of a thrown error, by its stable code. */
export function exitClassOf(error: unknown): ExitClass {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && BAD_INPUT.has(code)) return 'bad-input';
  if (typeof code === 'string' && DECISION.has(code)) return 'decision';
  return 'failed';
}

const STATUS_OF: Record<ExitClass, string> = {
  ok: 'succeeded',
  failed: 'failed',
  'bad-input': 'bad-input',
  decision: 'needs-decision',
  interrupted: 'aborted',
  terminated: 'aborted',
};

/** A command that threw: its operator-facing parts, never a stack. */
export function errorResult(command: CommandName, error: unknown): CommandResult {
  const exitClass = exitClassOf(error);
  const e = error as (Error & { code?: string }) | undefined;
  const message = `${e?.code ? `${e.code}: ` : ''}${e?.message ?? String(error)}`;
  return commandResult({
    command,
    status: STATUS_OF[exitClass],
    exitClass,
    document: { error },
    text: [],
    notes: [
      `upgradekit: ${message}`,
      // An error without a code is one nobody expected: its stack is the way to its cause.
      ...(exitClass === 'failed' && !e?.code && e?.stack ? ['(run with --verbose for the stack trace)'] : []),
    ],
    details: stackLines(error),
    markdown: `### ❌ upgradekit ${command}\n\n${message
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n')}\n`,
    failure: message,
  });
}

/**
 * A value as JSON: errors become their operator-facing parts (name, code, message, context),
 * never a stack. The one place errors become JSON.
 */
export function toJson(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_key, v: unknown) => {
      if (v instanceof Error) {
        const e = v as Error & { code?: unknown; context?: unknown };
        return {
          name: e.name,
          ...(e.code !== undefined ? { code: e.code } : {}),
          message: e.message,
          ...(e.context !== undefined ? { context: e.context } : {}),
        };
      }
      return v;
    }) ?? 'null',
  );
}

/** `upgradekit …`, quoted so that it is safe to paste. */
export function pasteable(next: NextCommand): string {
  return commandLine(['upgradekit', ...next.argv]);
}

/**
 * What --verbose adds for an error: its stack and each cause's, for whoever reports the failure
 * (coded errors too: "debug logs and stack traces" is what --verbose promises).
 */
export function stackLines(error: unknown): string[] {
  const lines: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    lines.push(`${depth === 0 ? '' : 'caused by: '}${current.stack ?? current.message}`);
    current = (current as { cause?: unknown }).cause;
  }
  return lines;
}
