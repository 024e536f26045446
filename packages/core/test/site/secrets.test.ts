// Issue 20: secrets never written in the site configuration, never echoed from it, and every one
// it names — host key passphrases too — known to the masks.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readableSecrets } from '../../src/config/secrets.js';
import { EventBus, loadSiteConfig, siteSecrets } from '../../src/index.js';

function config(text: string) {
  const dir = mkdtempSync(join(tmpdir(), 'uk-site-secrets-'));
  writeFileSync(join(dir, 'site.yaml'), text);
  return () => loadSiteConfig({ file: 'site.yaml', cwd: dir });
}

const refusal = (load: () => unknown): string => {
  try {
    load();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('accepted');
};

describe('the site configuration and secrets', () => {
  it('a password typed where its variable name goes is refused and not echoed', () => {
    const message = refusal(config('datasources:\n  main: { host: db, passwordEnv: "Zq7-SecretPW-91x" }\n'));
    expect(message).toMatch(/site\.yaml:2 datasources\.main\.passwordEnv/);
    expect(message).not.toContain('SecretPW');
  });

  it('credentials in a ClickHouse URL are refused, without echoing the URL', () => {
    const message = refusal(config('datasources:\n  events: { url: "http://default:Hunter2-pw@ch:8123" }\n'));
    expect(message).toContain('puts a secret in the file');
    expect(message).not.toContain('Hunter2');
  });

  it('a site variable named like a secret is refused, without echoing its value', () => {
    const message = refusal(config('site:\n  id: s1\n  env: { DB_PASSWORD: "Hunter2-pw" }\n'));
    expect(message).toContain('named like a secret');
    expect(message).not.toContain('Hunter2');
  });

  it('a host passphrase is a secret to mask, like the passwords', () => {
    const load = config(
      'hosts:\n  - { name: app-1, host: 127.0.0.2, user: deploy, privateKeyPath: /k, passphraseEnv: UK_PHRASE }\n',
    );
    const env = { UK_PHRASE: 'open-sesame-42' };
    expect(siteSecrets(load(), env)).toContain('open-sesame-42');
    expect(readableSecrets(load(), env)).toContain('open-sesame-42');
  });

  it('a multi-line secret is masked whole and line by line', () => {
    const events = new EventBus();
    events.addSecret('first-line-77\nsecond-line-88');
    expect(
      events.redact('cut: first-line-77 | later: second-line-88 | whole: first-line-77\nsecond-line-88'),
    ).toBe('cut: *** | later: *** | whole: ***');
  });
});
