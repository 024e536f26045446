import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

const MAX_LINE = 8 * 1024;

/**
 * Calls `onLine` for each line of `stream` (a line longer than 8 KB is cut into pieces, so a
 * plugin printing megabytes without a newline cannot balloon the parent), and keeps the last
 * `tailBytes` of the text for error messages.
 */
export function readLines(
  stream: Readable,
  onLine: (line: string) => void,
  tailBytes = 0,
): { tail: () => string } {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let tail = '';
  const take = (text: string) => {
    if (tailBytes > 0) {
      tail = (tail + text).slice(-tailBytes);
    }
    pending += text;
    let newline = pending.indexOf('\n');
    while (newline !== -1 || pending.length > MAX_LINE) {
      const end = newline === -1 ? MAX_LINE : newline;
      const line = pending.slice(0, end).replace(/\r$/, '');
      pending = pending.slice(newline === -1 ? end : end + 1);
      if (line.trim() !== '') onLine(line);
      newline = pending.indexOf('\n');
    }
  };
  stream.on('data', (chunk: Buffer) => take(decoder.write(chunk)));
  stream.on('end', () => {
    take(decoder.end());
    if (pending.trim() !== '') onLine(pending);
    pending = '';
  });
  return { tail: () => tail };
}
