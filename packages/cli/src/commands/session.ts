// What every command that touches a release shares: the core (loaded only now, so `--help`
// stays fast), an event bus rendered on stderr, and the site configuration.
import type { ConsoleReporter, EventBus, PreparedUpgrade, SiteConfig } from '@upgradekit/core';
import type { GlobalFlags } from '../output.js';

export interface ReleaseFlags extends GlobalFlags {
  readonly release: string;
  readonly site?: string;
}

export interface Session {
  readonly core: typeof import('@upgradekit/core');
  readonly events: EventBus;
  /** A live terminal (not CI, not --json): draw a task list instead of event lines. */
  readonly interactive: boolean;
  /** Stops the line reporter, for a renderer that draws events itself. */
  quiet(): void;
  readonly config: SiteConfig;
  readonly siteId: string;
  close(): void;
}

export async function openSession(flags: GlobalFlags & { readonly site?: string }): Promise<Session> {
  const core = await import('@upgradekit/core');
  const events = new core.EventBus();
  const reporter: ConsoleReporter = new core.ConsoleReporter({ level: flags.verbose ? 'debug' : 'info' });
  let off = events.on('*', reporter.handle);
  const configFile = flags.config ?? process.env.UPGRADEKIT_CONFIG;
  const config = core.loadSiteConfig({
    ...(configFile ? { file: configFile } : {}),
    ...(flags.site ? { overrides: { site: flags.site } } : {}),
  });
  return {
    core,
    events,
    config,
    siteId: config.site?.id ?? core.DEFAULT_SITE,
    interactive: Boolean(process.stdout.isTTY && process.stderr.isTTY) && !process.env.CI && !flags.json,
    quiet: () => {
      off();
      off = () => true;
    },
    close: () => {
      off();
      reporter.close();
    },
  };
}

/**
 * The versions of the last recorded run of this component on this site, for commands that act on
 * "the" upgrade (status, resolve) when the operator does not repeat --from/--to.
 */
export function lastVersions(
  session: Session,
  component: string,
): Promise<{ from: string; to: string } | undefined> {
  return session.core.lastRecordedUpgrade(component, {
    ...session.config,
    site: session.config.site ?? { id: session.siteId },
  });
}

/**
 * The session and the upgrade `--release/--from/--to` name, prepared (release validated, plan
 * made, datasources checked); `fn` runs with both, and both are closed whatever happens.
 */
export async function withPreparedUpgrade<R>(
  flags: ReleaseFlags & { readonly from: string; readonly to: string },
  options: { readonly handleSignals?: boolean; readonly killInDoubt?: boolean },
  fn: (session: Session, prepared: PreparedUpgrade) => Promise<R>,
): Promise<R> {
  const session = await openSession(flags);
  let prepared: PreparedUpgrade | undefined;
  try {
    prepared = await session.core.prepareUpgrade({
      release: flags.release,
      from: flags.from,
      to: flags.to,
      config: session.config,
      events: session.events,
      ...(options.handleSignals ? { handleSignals: true } : {}),
      ...(options.killInDoubt ? { killInDoubt: true } : {}),
    });
    return await fn(session, prepared);
  } finally {
    await prepared?.close();
    session.close();
  }
}
