import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfSyntaxError, formatLine, quoteArg, splitArgs, tokenizeConf } from '../src/config/redis-conf-syntax.js';

/** mulberry32: a small deterministic PRNG, so the fuzz cases are the same on every run */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** characters that stress quoting: blanks, quotes, backslashes, hex-escape lookalikes, controls, non-ASCII */
const AWKWARD = [
  ' ',
  '\t',
  '\n',
  '\r',
  '\v',
  '\f',
  '"',
  "'",
  '\\',
  '#',
  'x',
  'X',
  '0',
  '7',
  'a',
  'f',
  'g',
  'n',
  't',
  ';',
  '$',
  '\x00',
  '\x07',
  '\x1b',
  '\x7f',
  '\u00a0',
  'é',
  '日',
  '😀',
  '\u2028',
];

function randomString(next: () => number): string {
  const length = Math.floor(next() * 16);
  let s = '';
  for (let i = 0; i < length; i++) s += AWKWARD[Math.floor(next() * AWKWARD.length)]!;
  return s;
}

describe('splitArgs', () => {
  test('splits on any run of white space', () => {
    assert.deepEqual(splitArgs('save 900 1'), ['save', '900', '1']);
    assert.deepEqual(splitArgs('  bind \t 127.0.0.1   ::1  '), ['bind', '127.0.0.1', '::1']);
    assert.deepEqual(splitArgs(''), []);
    assert.deepEqual(splitArgs('   \t '), []);
  });

  test('double quotes take \\n \\r \\t \\b \\a \\\\ \\" and \\xHH', () => {
    assert.deepEqual(splitArgs(String.raw`x "a\nb\tc\\d\"e"`), ['x', 'a\nb\tc\\d"e']);
    assert.deepEqual(splitArgs(String.raw`"\r\b\a"`), ['\r\b\x07']);
    assert.deepEqual(splitArgs(String.raw`"\x41\x62\x7e\x00\xff"`), ['Ab~\x00\xff']);
    assert.deepEqual(splitArgs(String.raw`"\x4G"`), ['x4G'], 'an incomplete \\x escape is a plain x');
    assert.deepEqual(splitArgs(String.raw`"\q"`), ['q'], 'an unknown escape is the character itself');
    assert.deepEqual(splitArgs(`"it's"`), ["it's"]);
    assert.deepEqual(splitArgs(`"a b  c"`), ['a b  c']);
  });

  test("single quotes take only \\'", () => {
    assert.deepEqual(splitArgs(String.raw`'it\'s'`), ["it's"]);
    assert.deepEqual(splitArgs(String.raw`'a\nb'`), ['a\\nb']);
    assert.deepEqual(splitArgs(String.raw`'\x41 "q"'`), ['\\x41 "q"']);
  });

  test('an empty quoted string is an argument', () => {
    assert.deepEqual(splitArgs('logfile ""'), ['logfile', '']);
    assert.deepEqual(splitArgs(`save ''`), ['save', '']);
    assert.deepEqual(splitArgs(`a "" "" b`), ['a', '', '', 'b']);
  });

  test('a quote inside a word opens a quoted part of that word', () => {
    assert.deepEqual(splitArgs('a"b c"'), ['ab c']);
    assert.deepEqual(splitArgs(`pre'fix x'`), ['prefix x']);
  });

  test('# inside a line is an ordinary character', () => {
    assert.deepEqual(splitArgs('requirepass a#b # c'), ['requirepass', 'a#b', '#', 'c']);
  });

  test('a closing quote followed by a non-space is an error', () => {
    assert.throws(() => splitArgs('"a"b'), /closing double quote/);
    assert.throws(() => splitArgs(`'a'b`), /closing single quote/);
    assert.throws(() => splitArgs('x ""y'), /closing double quote/);
    assert.deepEqual(splitArgs('"a"\t"b"'), ['a', 'b']);
  });

  test('unbalanced quotes are an error', () => {
    assert.throws(() => splitArgs('logfile "abc'), /unbalanced double quotes/);
    assert.throws(() => splitArgs(`logfile 'abc`), /unbalanced single quotes/);
    assert.throws(() => splitArgs(String.raw`logfile "abc\"`), /unbalanced double quotes/);
    assert.throws(() => splitArgs(String.raw`logfile 'abc\'`), /unbalanced single quotes/);
    assert.throws(() => splitArgs('"'), /unbalanced/);
  });
});

describe('tokenizeConf', () => {
  test('skips blank lines and comment lines, keeps 1-based line numbers, lower-cases names', () => {
    const text = '# a comment\n\n   # indented comment\nPORT 6379\n\tbind 127.0.0.1 # not a comment\r\nlogfile ""\n';
    assert.deepEqual(tokenizeConf(text), [
      { line: 4, name: 'port', args: ['6379'] },
      { line: 5, name: 'bind', args: ['127.0.0.1', '#', 'not', 'a', 'comment'] },
      { line: 6, name: 'logfile', args: [''] },
    ]);
  });

  test('a quoting error carries its line number', () => {
    const text = 'port 6379\n\n# "unbalanced in a comment is fine\nlogfile "abc\nhz 10\n';
    assert.throws(
      () => tokenizeConf(text),
      (error: unknown) => error instanceof ConfSyntaxError && error.line === 4 && /unbalanced double quotes/.test(error.message),
    );
    assert.throws(
      () => tokenizeConf(`port 1\nrequirepass "a"b\n`),
      (error: unknown) => error instanceof ConfSyntaxError && error.line === 2,
    );
  });
});

describe('quoteArg', () => {
  test('leaves plain words alone and quotes only when needed', () => {
    assert.equal(quoteArg('256mb'), '256mb');
    assert.equal(quoteArg('~logs:*'), '~logs:*');
    assert.equal(quoteArg('a#b'), 'a#b');
    assert.equal(quoteArg(''), '""');
    assert.equal(quoteArg('a b'), '"a b"');
    assert.equal(quoteArg('say "hi"'), String.raw`"say \"hi\""`);
    assert.equal(quoteArg("it's"), `"it's"`);
    assert.equal(quoteArg('back\\slash'), String.raw`"back\\slash"`);
    assert.equal(quoteArg('line\nbreak\ttab\r'), String.raw`"line\nbreak\ttab\r"`);
    assert.equal(quoteArg('\x00\x1b\x7f'), String.raw`"\x00\x1b\x7f"`);
  });

  test('awkward strings round-trip through splitArgs', () => {
    const fixed = ['', ' ', '"', "'", '\\', '\\x41', '\\"', '"\'"', '#', '# x', 'a\nb', '\x00', '\u00a0', '😀 é', '\\\\n', "'\\''", 'x"', 'end\\'];
    for (const s of fixed) assert.deepEqual(splitArgs(quoteArg(s)), [s], JSON.stringify(s));
  });

  test('fuzz: 500 random strings round-trip through splitArgs and tokenizeConf', () => {
    const next = prng(0x5eed);
    for (let i = 0; i < 500; i++) {
      const s = randomString(next);
      const quoted = quoteArg(s);
      assert.deepEqual(splitArgs(quoted), [s], `case ${i}: ${JSON.stringify(s)} -> ${quoted}`);
      assert.ok(!/[\n\r]/.test(quoted), `case ${i}: a quoted argument stays on one line`);
    }
  });

  test('fuzz: formatLine output reads back as the same directive', () => {
    const next = prng(42);
    for (let i = 0; i < 200; i++) {
      const args = Array.from({ length: 1 + Math.floor(next() * 4) }, () => randomString(next));
      const line = formatLine('extra-directive', args);
      assert.deepEqual(tokenizeConf(`${line}\n`), [{ line: 1, name: 'extra-directive', args }], `case ${i}: ${line}`);
    }
  });

  test('fuzz: random lines either split or fail with a plain Error', () => {
    const next = prng(7);
    for (let i = 0; i < 300; i++) {
      const line = randomString(next);
      try {
        const args = splitArgs(line);
        assert.ok(Array.isArray(args));
      } catch (error) {
        assert.ok(error instanceof Error && /quote/.test(error.message), `case ${i}: ${JSON.stringify(line)}`);
      }
    }
  });
});
