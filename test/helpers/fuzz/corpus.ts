import { tmpdir } from 'node:os';
import { DEFAULT_BODY_LIMIT } from './operations.js';

/**
 * What must never appear in a response. The hostile corpus below is chosen not to match these, so an echo of stored fuzz input (a name, a topic, a user agent) is never a false alarm.
 */
export const LEAKS: Array<[string, RegExp]> = [
  ['a stack frame', /\bat (?:async )?\S*\s*\(?(?:\/|file:|node:)[^)\s]*:\d+:\d+/],
  ['a stack frame', /(?:\\n|\n)\s+at \S/],
  ['a source position', /\.(?:ts|js|mjs|cjs):\d+(?::\d+)?\b/],
  ['SQL', /\b(?:SELECT|INSERT INTO|UPDATE \S+ SET|DELETE FROM)\s/],
  ['the SQLite engine', /sqlite/i],
  ['Sequelize', /Sequelize/],
  ['a PostgreSQL detail', /(?<![\w.-])pg_[a-z]|syntax error at or near|violates \S+ constraint|relation "[^"]*" does not exist/],
  ['an exception name', /\b(?:TypeError|ReferenceError|SyntaxError|RangeError|URIError|EvalError)\b/],
  ['an exception message', /Unexpected token|in JSON at position|Cannot read propert|is not a function|is not defined|Maximum call stack/],
  ['a file path', /\/(?:work|home|root|usr|tmp|var|opt|srv|app)\/|\/(?:src|dist)\/[\w.-]+\.[cm]?[jt]s|node_modules|file:\/\//],
  ['the working directory', new RegExp(escapeRegExp(process.cwd()))],
  ['the temporary directory', new RegExp(`${escapeRegExp(tmpdir())}/`)],
];

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function leakIn(text: string): string | undefined {
  for (const [what, pattern] of LEAKS) {
    const match = pattern.exec(text);
    if (match) return `${what} (${JSON.stringify(text.slice(Math.max(0, match.index - 40), match.index + 80))})`;
  }
  return undefined;
}

export const INJECTIONS = [
  "' OR 1=1 --",
  "' OR '1'='1",
  '" OR ""="',
  "admin'--",
  "'; DROP TABLE users;",
  '; DROP TABLE users;',
  '1; DROP TABLE counseling_sessions --',
  "' union select null, null --",
  "1' and sleep(5)#",
  "'; waitfor delay '0:0:5' --",
  "' || (select 1) || '",
  "%' and 1=0 union select 1 --",
  "\\'; --",
  '1 or 1=1',
  '{"$gt": ""}',
  '{"$ne": null}',
  '{"$where": "sleep(1000)"}',
  '{"$regex": ".*"}',
  "'; return true; var x='",
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  '{{7*7}}',
  '${7*7}',
  '../../../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '%00',
  '\u0000',
  '\r\nX-Injected: 1',
  '\u202eevil\u202c',
  '\ufeff',
  '\ud800',
  '\udc00\ud800',
  'null',
  'undefined',
  'NaN',
  '[object Object]',
  '__proto__',
  'constructor',
  'prototype',
  'ＳＥＬＥＣＴ',
  '𝕏𝕏𝕏',
  'a\u0301',
  '😀',
  '',
  ' ',
];

/** Pollution attempts as own keys in raw JSON text (JSON.stringify could not write `__proto__`). */
export const POLLUTION_MEMBERS = [
  '"__proto__":{"polluted":"yes","isAdmin":true,"role":"admin"}',
  '"constructor":{"prototype":{"polluted":"yes"}}',
  '"prototype":{"polluted":"yes"}',
  '"__proto__":null',
  '"__proto__":[]',
  '"$where":"sleep(100)"',
  '"$gt":""',
  '"isAdmin":true',
  '"userId":"00000000-0000-4000-8000-000000000000"',
  '"toString":"x"',
  '"hasOwnProperty":1',
];

export const nest = (open: string, close: string, inner: string, depth: number) => open.repeat(depth) + inner + close.repeat(depth);
/** Deep nesting, sized against the limits: 10 kB fits 16 kB, 30 kB fits 64 kB, 95 kB and 200 kB fit only 1 MB. */
export const DEEP = {
  arrays5k: nest('[', ']', '', 5_000),
  objects5k: nest('{"a":', '}', '1', 5_000),
  wideObjects5k: nest('{"aaaaaaaaaaaaa":', '}', '1', 5_000),
  arrays100k: nest('[', ']', '', 100_000),
};
export const HUGE = 100_000;
export const OVER_DEFAULT_LIMIT = 'x'.repeat(DEFAULT_BODY_LIMIT + 1_000);

export const MALFORMED_JSON = [
  '{',
  '}',
  '{"a":',
  '{"a":1,}',
  "{'a':1}",
  '{a:1}',
  '{"a":NaN}',
  '{"a":Infinity}',
  '{"a":undefined}',
  '{"a":01}',
  '{"a":.5}',
  '{"a":"\\x41"}',
  '{"a":"unterminated}',
  '{"a":1}{"b":2}',
  '{"a":1} x',
  '[1,2',
  '/* comment */ {}',
  '{"a":1} // comment',
  'nope',
  '\u0000{}',
  '"just a string"',
  '12345',
  'true',
  'null',
  '\ufeff{}',
];
