/**
 * Seed 004 §4.4.1.1: logs and temporary files are not backed up. Patterns follow `tar --exclude`:
 * a pattern without `/` matches any path component (`*.log`, `tmp`); one with `/` matches the path
 * from the archive's root (`data/cache/*`). `*` and `?` do not cross `/`; `**` does.
 */
export const DEFAULT_EXCLUDES: readonly string[] = Object.freeze([
  '*.log',
  '*.log.[0-9]*',
  'logs',
  'log',
  'tmp',
  'temp',
  '*.tmp',
  '*.swp',
  '*.pid',
]);

function toRegExp(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      out += '.*';
      i++;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end === -1) out += '\\[';
      else {
        out += `[${pattern
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else out += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/**
 * A predicate over archive-relative paths (`bin/app`, `logs/x.log`): true means leave it out.
 *
 * @example
 * excludeMatcher(DEFAULT_EXCLUDES)('logs/app.log'); // true
 */
export function excludeMatcher(patterns: readonly string[]): (relativePath: string) => boolean {
  const compiled = patterns.map((p) => {
    const anchored = p.replace(/^\.\//, '').replace(/\/+$/, '');
    return { byPath: anchored.includes('/'), re: toRegExp(anchored) };
  });
  return (relativePath) => {
    const path = relativePath.replace(/^\.\//, '').replace(/\/+$/, '');
    if (path === '' || path === '.') return false;
    const parts = path.split('/');
    return compiled.some(({ byPath, re }) => {
      if (byPath) {
        // A directory pattern also excludes everything under it.
        for (let n = parts.length; n > 0; n--) if (re.test(parts.slice(0, n).join('/'))) return true;
        return false;
      }
      return parts.some((part) => re.test(part));
    });
  };
}
