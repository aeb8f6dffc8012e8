/**
 * resp/ byte by byte and in random pieces: the decoder (full and shallow modes) fed a multi-reply
 * buffer split at every point and in seeded random chunkings, and the encoders checked to give the
 * same bytes in all three shapes (Buffer, text, CommandEncoder).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CommandEncoder,
  ENCODER_CHUNK,
  ReplyCounter,
  RespDecoder,
  RespError,
  RespProtocolError,
  arrayHeaderText,
  asciiBulkText,
  bulkText,
  encodeBulk,
  encodeCommand,
  encodeCommandText,
  type CommandArg,
  type RespReply,
} from '../src/resp/index.js';
import { Random } from '../src/workload/index.js';

/** A shallow reply as a tuple, for deepEqual. */
type Shallow = [type: string, n: number, error: string | undefined];

const BIG = Buffer.alloc(300_000, 0x61);
BIG.write('\r\n', 1000);
BIG.write('$5\r\n', 200_000);

const REPLIES: Array<{ bytes: Buffer; full: unknown; shallow: Shallow }> = [
  { bytes: Buffer.from('+OK\r\n'), full: 'OK', shallow: ['+', 0, undefined] },
  { bytes: Buffer.from('+\r\n'), full: '', shallow: ['+', 0, undefined] },
  {
    bytes: Buffer.from('-ERR wrong number of arguments\r\n'),
    full: { error: 'ERR wrong number of arguments' },
    shallow: ['-', 0, 'ERR wrong number of arguments'],
  },
  {
    bytes: Buffer.from('-BUSYKEY Target key name already exists.\r\n'),
    full: { error: 'BUSYKEY Target key name already exists.' },
    shallow: ['-', 0, 'BUSYKEY Target key name already exists.'],
  },
  { bytes: Buffer.from(':0\r\n'), full: 0, shallow: [':', 0, undefined] },
  { bytes: Buffer.from(':-42\r\n'), full: -42, shallow: [':', -42, undefined] },
  { bytes: Buffer.from(':1234567890123\r\n'), full: 1234567890123, shallow: [':', 1234567890123, undefined] },
  { bytes: Buffer.from('$-1\r\n'), full: null, shallow: ['$', -1, undefined] },
  { bytes: Buffer.from('*-1\r\n'), full: null, shallow: ['*', -1, undefined] },
  { bytes: Buffer.from('$0\r\n\r\n'), full: { bulk: '' }, shallow: ['$', 0, undefined] },
  { bytes: Buffer.from('$8\r\na\r\nb\r\n\r\n\r\n'), full: { bulk: 'a\r\nb\r\n\r\n' }, shallow: ['$', 8, undefined] },
  { bytes: Buffer.from('*0\r\n'), full: [], shallow: ['*', 0, undefined] },
  {
    bytes: Buffer.from('*4\r\n$3\r\nfoo\r\n*2\r\n:1\r\n*1\r\n+deep\r\n-ERR inner\r\n*2\r\n$-1\r\n*0\r\n'),
    full: [{ bulk: 'foo' }, [1, ['deep']], { error: 'ERR inner' }, [null, []]],
    shallow: ['*', 4, undefined],
  },
  {
    bytes: Buffer.concat([Buffer.from(`$${BIG.length}\r\n`), BIG, Buffer.from('\r\n')]),
    full: { bulk: `big ${BIG.length}` },
    shallow: ['$', BIG.length, undefined],
  },
  { bytes: Buffer.from('*2\r\n*1\r\n*1\r\n:7\r\n+x\r\n'), full: [[[7]], 'x'], shallow: ['*', 2, undefined] },
];
const ALL = Buffer.concat(REPLIES.map((r) => r.bytes));
const SMALL = Buffer.concat(REPLIES.filter((r) => r.bytes.length < 1000).map((r) => r.bytes));

function plain(reply: RespReply): unknown {
  if (Buffer.isBuffer(reply)) return { bulk: reply.length > 100_000 ? `big ${reply.length}` : reply.toString('latin1') };
  if (reply instanceof RespError) return { error: reply.message };
  if (Array.isArray(reply)) return reply.map(plain);
  return reply;
}

function decodeFull(pieces: Buffer[]): unknown[] {
  const out: unknown[] = [];
  const decoder = new RespDecoder((r) => out.push(plain(r)));
  for (const p of pieces) decoder.write(p);
  assert.ok(decoder.idle);
  return out;
}

/** Shallow-decodes the pieces, each copied into one reused buffer (as a socket's reused read buffer). */
function decodeShallow(pieces: Buffer[]): Shallow[] {
  const out: Shallow[] = [];
  const decoder = RespDecoder.shallow((type, n, error) => out.push([String.fromCharCode(type), n, error]));
  const scratch = Buffer.alloc(pieces.reduce((max, p) => Math.max(max, p.length), 1));
  for (const p of pieces) {
    p.copy(scratch);
    decoder.write(scratch.subarray(0, p.length));
    scratch.fill(0x21);
  }
  assert.ok(decoder.idle);
  return out;
}

function randomPieces(bytes: Buffer, random: Random, maxPiece: number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let at = 0; at < bytes.length;) {
    const size = 1 + random.int(maxPiece);
    pieces.push(bytes.subarray(at, at + size));
    at += size;
  }
  return pieces;
}

describe('RESP decoder in pieces (full and shallow modes)', () => {
  const fullExpected = REPLIES.map((r) => r.full);
  const shallowExpected = REPLIES.map((r) => r.shallow);

  test('whole, then byte by byte', () => {
    assert.deepEqual(decodeFull([ALL]), fullExpected);
    assert.deepEqual(decodeShallow([ALL]), shallowExpected);
    const bytes = [...ALL].map((b) => Buffer.from([b]));
    assert.deepEqual(decodeShallow(bytes), shallowExpected);
    assert.deepEqual(decodeFull(bytes), fullExpected);
  });

  test('split in two at every point of the small replies, and in three around every point', () => {
    const small = REPLIES.filter((r) => r.bytes.length < 1000);
    for (let i = 0; i <= SMALL.length; i++) {
      const two = [SMALL.subarray(0, i), SMALL.subarray(i)];
      assert.deepEqual(
        decodeFull(two),
        small.map((r) => r.full),
        `split at ${i}`,
      );
      assert.deepEqual(
        decodeShallow(two),
        small.map((r) => r.shallow),
        `split at ${i}`,
      );
      const three = [SMALL.subarray(0, i), SMALL.subarray(i, i + 3), SMALL.subarray(i + 3)];
      assert.deepEqual(
        decodeShallow(three),
        small.map((r) => r.shallow),
        `split at ${i} and ${i + 3}`,
      );
    }
  });

  test('200 seeded random chunkings (pieces of 1 to 64 bytes, and up to 100 KiB)', () => {
    const random = new Random('resp-pieces');
    for (let round = 0; round < 200; round++) {
      const pieces = randomPieces(ALL, random, round % 2 ? 64 : 100_000);
      assert.deepEqual(decodeShallow(pieces), shallowExpected, `round ${round}`);
      if (round % 10 === 0) assert.deepEqual(decodeFull(pieces), fullExpected, `round ${round}`);
    }
  });

  test('the reply counter counts top-level replies and keeps the first top-level error', () => {
    const counted: number[] = [];
    const counter = new ReplyCounter((index) => counted.push(index));
    for (const p of randomPieces(ALL, new Random('counter'), 50)) counter.feed(p);
    assert.equal(counter.replies, REPLIES.length);
    assert.equal(counter.errors, 2, 'the error inside an array is an element, not a failed command');
    assert.deepEqual(counter.firstError, { index: 2, message: 'ERR wrong number of arguments' });
    assert.deepEqual(
      counted,
      REPLIES.map((_, i) => i),
    );
  });

  const BAD: Array<[string, string, number, RegExp]> = [
    ['a wrong type byte', '+OK\r\n?x\r\n', 5, /unexpected byte 0x3f/],
    ['a line without CR', '+OK\r\n:1\n', 7, /does not end with CRLF/],
    ['an integer with a letter', '+OK\r\n:12a\r\n', 5, /integer/],
    ['an empty integer', ':\r\n', 0, /integer/],
    ['a bulk without its CRLF', '$3\r\nabcX\r\n', 7, /bulk string does not end with CRLF/],
    ['a negative length', '*-2\r\n', 0, /not a valid length/],
    ['an error line without CR', '+OK\r\n-ERR x\n', 11, /does not end with CRLF/],
  ];
  for (const [what, text, offset, message] of BAD) {
    test(`protocol error naming the byte offset: ${what}`, () => {
      const bytes = Buffer.from(text);
      for (const pieces of [[bytes], [...bytes].map((b) => Buffer.from([b]))]) {
        for (const decode of [decodeShallow, decodeFull]) {
          assert.throws(
            () => decode(pieces),
            (e: unknown) => e instanceof RespProtocolError && message.test(e.message) && e.message.includes(`at byte ${offset}:`),
            `${decode.name}, ${pieces.length} piece(s)`,
          );
        }
      }
    });
  }

  test('shallow mode never buffers a large bulk body', () => {
    const decoder = RespDecoder.shallow(() => undefined, { maxBulkBytes: 1 << 30 });
    decoder.write(Buffer.from(`$${1 << 29}\r\n`));
    for (let i = 0; i < 8; i++) decoder.write(Buffer.alloc(1 << 26));
    assert.equal(decoder.bufferedBytes, 0);
    assert.equal(decoder.idle, false);
    decoder.write(Buffer.from('\r\n'));
    assert.equal(decoder.idle, true);
    assert.throws(() => RespDecoder.shallow(() => undefined, { maxBulkBytes: 10 }).write(Buffer.from('$11\r\n')), /larger than the limit/);
  });
});

describe('RESP encoders give the same bytes', () => {
  const COMMANDS: CommandArg[][] = [
    ['PING'],
    ['SET', 'logs:1', '{"message":"pä\\r\\n"}'],
    ['RESTORE', Buffer.from([0, 13, 10, 255]), '0', Buffer.alloc(0), 'ABSTTL'],
    ['ZADD', 'idx', '-12', 'ü'.repeat(70)],
    [''],
  ];

  test('encodeCommand, encodeCommandText, bulkText/asciiBulkText and CommandEncoder agree', () => {
    for (const args of COMMANDS) {
      const expected = encodeCommand(args);
      const got: Uint8Array[] = [];
      const encoder = new CommandEncoder((b) => got.push(Buffer.from(b)));
      assert.equal(encoder.command(args), expected.length);
      encoder.flush();
      assert.deepEqual(Buffer.concat(got), expected);
      if (args.every((a) => typeof a === 'string')) {
        const text = args as string[];
        assert.equal(encodeCommandText(text), expected.toString('utf8'));
        assert.equal(arrayHeaderText(text.length) + text.map(bulkText).join(''), expected.toString('utf8'));
      }
    }
    assert.equal(asciiBulkText('logs:7'), '$6\r\nlogs:7\r\n');
    assert.deepEqual(encodeBulk('RESTORE'), Buffer.from('$7\r\nRESTORE\r\n'));
  });

  test('CommandEncoder: integers, pre-encoded arguments, pieces; hands on whole commands only', () => {
    const got: Buffer[] = [];
    const encoder = new CommandEncoder((b) => got.push(Buffer.from(b)));
    const value = Buffer.alloc(ENCODER_CHUNK, 0x78);
    const expected: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const n = i * 7919 - 100_000;
      const piece = value.subarray(0, (i * 37_123) % ENCODER_CHUNK);
      encoder.begin(4);
      encoder.argEncoded(encodeBulk('CMD'));
      encoder.argInt(n);
      encoder.argParts([Buffer.from('h'), piece, Buffer.from('t')], piece.length + 2);
      encoder.arg(`k${i}`);
      const size = encoder.end();
      const one = encodeCommand(['CMD', String(n), Buffer.concat([Buffer.from('h'), piece, Buffer.from('t')]), `k${i}`]);
      assert.equal(size, one.length);
      expected.push(one);
    }
    encoder.argInt(Number.MAX_SAFE_INTEGER + 2);
    encoder.flush();
    const all = Buffer.concat(expected);
    const joined = Buffer.concat(got);
    assert.deepEqual(joined.subarray(0, all.length), all);
    assert.equal(joined.subarray(all.length).toString(), `$${String(Number.MAX_SAFE_INTEGER + 2).length}\r\n${Number.MAX_SAFE_INTEGER + 2}\r\n`);
  });

  test('CommandEncoder hands on whole commands, and a large value by reference', () => {
    const got: Uint8Array[] = [];
    const encoder = new CommandEncoder((b) => got.push(b));
    for (let i = 0; i < 2000; i++) encoder.command(['SET', `key:${i}`, 'v'.repeat(i % 500)]);
    const large = Buffer.alloc(ENCODER_CHUNK, 0x79);
    encoder.command(['SET', 'large', large]);
    encoder.command(['PING']);
    encoder.flush();
    assert.ok(got.includes(large), 'the large value itself was handed on, not a copy');
    let commands = 0;
    const counting = new RespDecoder(() => commands++);
    const at = got.indexOf(large);
    got.forEach((piece, i) => {
      counting.write(Buffer.from(piece));
      // the large command's head goes before the value, its CRLF with what follows
      if (i !== at - 1 && i !== at) assert.ok(counting.idle, `piece ${i} of ${got.length} ends between commands`);
    });
    assert.equal(commands, 2002);
    assert.ok(counting.idle);
  });
});
