import { readFileSync } from 'node:fs';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A statements file's text, refused (file:line) when it is not text the client would send as
 * written: invalid UTF-8 would reach the server as U+FFFD replacement characters, and a NUL byte
 * ends the statement early for the C clients.
 */
export function readSqlText(path: string, file: string): string {
  const bytes = readFileSync(path);
  const lineAt = (offset: number) => bytes.subarray(0, offset).toString('latin1').split('\n').length;
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    // The first offending byte: decode growing prefixes cheaply by finding the longest valid one.
    let lo = 0;
    let hi = bytes.length;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, mid), { stream: true });
        lo = mid;
      } catch {
        hi = mid - 1;
      }
    }
    throw refusal(file, lineAt(lo), 'is not valid UTF-8 here: save the file as UTF-8');
  }
  const nul = text.indexOf('\u0000');
  if (nul >= 0) throw refusal(file, lineAt(Buffer.byteLength(text.slice(0, nul))), 'holds a NUL byte');
  return text;
}

function refusal(file: string, line: number, message: string): UpgradeKitError {
  return new UpgradeKitError(ErrorCodes.BAD_INPUT, `${file}:${line}: the file ${message}`, {
    context: { file, line },
  });
}
