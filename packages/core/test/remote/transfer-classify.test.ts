import { UpgradeKitError } from '@upgradekit/core';
import { describe, expect, it } from 'vitest';
import { classifyTransfer } from '../../src/remote/transfer/index.js';

// The messages are the ones scp, ssh and ssh2 print (as seen in the real-sshd tests).
describe('classifyTransfer: seed 004 §4.1.4 error classes', () => {
  const cases: [string, unknown, string, boolean, boolean][] = [
    [
      'scp missing',
      Object.assign(new Error('spawn /usr/bin/scp ENOENT'), { code: 'ENOENT' }),
      'scp-missing',
      false,
      true,
    ],
    [
      'scp too old for -s',
      new Error('scp exited with code 1: unknown option -- s / usage: scp [-346BCpqrv]'),
      'scp-unusable',
      false,
      true,
    ],
    [
      'publickey refused',
      new Error('scp exited with code 255: root@h: Permission denied (publickey). / scp: Connection closed'),
      'auth',
      false,
      false,
    ],
    ['ssh2 auth', new Error('All configured authentication methods failed'), 'auth', false, false],
    [
      'host key',
      new Error('scp exited with code 255: Host key verification failed.'),
      'host-key',
      false,
      false,
    ],
    [
      'host key (session)',
      new UpgradeKitError('UPGRADEKIT_HOST_KEY', 'does not match'),
      'host-key',
      false,
      false,
    ],
    [
      'permission',
      new Error('scp exited with code 1: scp: dest open "/etc/x": Permission denied'),
      'permission',
      false,
      false,
    ],
    ['SFTP status 3', Object.assign(new Error('Permission denied'), { code: 3 }), 'permission', false, false],
    [
      'read-only',
      new Error('mkdir: cannot create directory: Read-only file system'),
      'permission',
      false,
      false,
    ],
    ['disk full', new Error('scp: write remote "/x": No space left on device'), 'disk-full', false, false],
    [
      'no subsystem',
      new Error('scp exited with code 255: subsystem request failed on channel 0 / scp: Connection closed'),
      'no-sftp-subsystem',
      false,
      false,
    ],
    ['reset', new Error('scp exited with code 255: Connection reset by peer'), 'network', true, true],
    ['cut SFTP', new Error('No response from server'), 'network', true, true],
    ['aborted', new UpgradeKitError('UPGRADEKIT_ABORTED', 'stopped'), 'aborted', false, false],
    ['other', new Error('something odd'), 'unknown', true, true],
  ];
  it.each(cases)('%s', (_name, error, reason, retry, fallback) => {
    expect(classifyTransfer(error)).toEqual({ reason, retry, fallback });
  });
});
