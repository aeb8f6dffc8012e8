import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { encodeCommand, encodeError, encodeSimpleString, RespDecoder, RespError, RespProtocolError, type RespReply } from '../src/resp/index.js';
import { startTestServer, testEngines, type TestServer } from './helpers/redis.js';

type Feed = 'whole' | 'byte by byte' | 'in 7-byte pieces';
const FEEDS: Feed[] = ['whole', 'byte by byte', 'in 7-byte pieces'];

function decodeAll(bytes: Buffer, feed: Feed, options: ConstructorParameters<typeof RespDecoder>[1] = {}): RespReply[] {
  const replies: RespReply[] = [];
  const decoder = new RespDecoder((r) => replies.push(r), options);
  const step = feed === 'whole' ? bytes.length : feed === 'byte by byte' ? 1 : 7;
  for (let i = 0; i < bytes.length; i += step) decoder.write(bytes.subarray(i, i + step));
  assert.ok(decoder.idle, 'nothing half-read at the end');
  return replies;
}

/** A reply with Buffers turned into strings and errors into {error}, for deepEqual. */
function plain(reply: RespReply): unknown {
  if (Buffer.isBuffer(reply)) return { bulk: reply.toString('latin1') };
  if (reply instanceof RespError) return { error: reply.message, kind: reply.kind };
  if (Array.isArray(reply)) return reply.map(plain);
  return reply;
}

const FIXTURE = Buffer.concat([
  Buffer.from('+OK\r\n'),
  Buffer.from('-WRONGPASS invalid username-password pair or user is disabled.\r\n'),
  Buffer.from(':0\r\n:-42\r\n:9007199254740993\r\n'),
  Buffer.from('$0\r\n\r\n'),
  Buffer.from('$-1\r\n*-1\r\n*0\r\n'),
  Buffer.from('$6\r\na\r\nb\x00\xff\r\n', 'latin1'),
  Buffer.from('*3\r\n$3\r\nfoo\r\n*2\r\n:1\r\n*1\r\n+deep\r\n-ERR inner\r\n'),
  Buffer.from('*2\r\n$-1\r\n*0\r\n'),
]);

const EXPECTED = [
  'OK',
  { error: 'WRONGPASS invalid username-password pair or user is disabled.', kind: 'WRONGPASS' },
  0,
  -42,
  9007199254740993n,
  { bulk: '' },
  null,
  null,
  [],
  { bulk: 'a\r\nb\x00\xff' },
  [{ bulk: 'foo' }, [1, ['deep']], { error: 'ERR inner', kind: 'ERR' }],
  [null, []],
];

describe('RESP encoder', () => {
  test('a command is an array of bulk strings, text as UTF-8 and bytes as they are', () => {
    assert.equal(encodeCommand(['AUTH', 'backup', 'pä']).toString('utf8'), '*3\r\n$4\r\nAUTH\r\n$6\r\nbackup\r\n$3\r\npä\r\n');
    assert.deepEqual(encodeCommand([Buffer.from([0, 13, 10, 255])]), Buffer.from([0x2a, 0x31, 13, 10, 0x24, 0x34, 13, 10, 0, 13, 10, 255, 13, 10]));
    assert.equal(encodeCommand([]).toString(), '*0\r\n');
    assert.equal(encodeCommand(['']).toString(), '*1\r\n$0\r\n\r\n');
  });

  test('simple strings refuse line breaks; errors flatten them', () => {
    assert.equal(encodeSimpleString('FULLRESYNC abc 0').toString(), '+FULLRESYNC abc 0\r\n');
    assert.throws(() => encodeSimpleString('a\r\nb'), RangeError);
    assert.equal(encodeError('ERR one\r\ntwo').toString(), '-ERR one two\r\n');
  });

  test('what the encoder writes, the decoder reads back', () => {
    const args = ['SET', 'k', Buffer.from('\r\n$3\r\n*1\r\n'), ''];
    for (const feed of FEEDS) {
      const [reply] = decodeAll(encodeCommand(args), feed);
      assert.deepEqual(
        plain(reply!),
        args.map((a) => ({ bulk: Buffer.isBuffer(a) ? a.toString('latin1') : a })),
      );
    }
  });
});

describe('RESP decoder', () => {
  for (const feed of FEEDS) {
    test(`every reply type, nested arrays, binary bulk strings, fed ${feed}`, () => {
      assert.deepEqual(decodeAll(FIXTURE, feed).map(plain), EXPECTED);
    });
  }

  test('replies are delivered as soon as they are complete, not at the end of a chunk', () => {
    const seen: unknown[] = [];
    const decoder = new RespDecoder((r) => seen.push(plain(r)));
    decoder.write(Buffer.from('+PONG\r\n$5\r\nhel'));
    assert.deepEqual(seen, ['PONG']);
    assert.equal(decoder.bufferedBytes, 3, 'the header is consumed, the body waits');
    assert.equal(decoder.idle, false);
    decoder.write(Buffer.from('lo\r'));
    assert.deepEqual(seen, ['PONG']);
    decoder.write(Buffer.from('\n'));
    assert.deepEqual(seen, ['PONG', { bulk: 'hello' }]);
    assert.ok(decoder.idle);
  });

  test('a large bulk string arriving in many pieces', () => {
    const body = Buffer.alloc(300_000, 'x');
    const bytes = Buffer.concat([Buffer.from(`$${body.length}\r\n`), body, Buffer.from('\r\n')]);
    for (const step of [1, 1000, 65536]) {
      const replies: RespReply[] = [];
      const decoder = new RespDecoder((r) => replies.push(r));
      for (let i = 0; i < bytes.length; i += step) decoder.write(bytes.subarray(i, i + step));
      assert.equal(replies.length, 1);
      assert.ok(body.equals(replies[0] as Buffer));
    }
  });

  for (const feed of FEEDS) {
    test(`inline commands (for servers), mixed with RESP commands, fed ${feed}`, () => {
      const bytes = Buffer.from('PING\r\nREPLCONF  ack 120\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n\r\n');
      assert.deepEqual(decodeAll(bytes, feed, { inlineCommands: true }).map(plain), [
        [{ bulk: 'PING' }],
        [{ bulk: 'REPLCONF' }, { bulk: 'ack' }, { bulk: '120' }],
        [{ bulk: 'ECHO' }, { bulk: 'hi' }],
      ]);
    });
  }

  test('bytes that are not RESP are a protocol error with the offset', () => {
    const cases: Array<[string, RegExp]> = [
      ['+OK\r\nhello\r\n', /at byte 5: unexpected byte 0x68/],
      [':12a\r\n', /at byte 0: "12a" is not an integer/],
      ['$3\r\nabcd\r\n', /at byte 7: a bulk string does not end with CRLF/],
      ['+OK\n', /a line does not end with CRLF/],
      ['*-2\r\n', /-2 is not a valid length/],
    ];
    for (const [text, pattern] of cases) {
      for (const feed of FEEDS) {
        assert.throws(
          () => decodeAll(Buffer.from(text), feed),
          (e: unknown) => e instanceof RespProtocolError && pattern.test(e.message),
          `${JSON.stringify(text)} fed ${feed}`,
        );
      }
    }
  });

  test('a bulk string over the limit is refused before its body arrives', () => {
    const decoder = new RespDecoder(() => {}, { maxBulkBytes: 10 });
    assert.throws(() => decoder.write(Buffer.from('$11\r\n')), /larger than the limit/);
  });
});

for (const engine of testEngines())
  describe(`RESP decoder on replies captured from ${engine.label}`, () => {
    let server: TestServer;
    let captured: Buffer;
    const commands: string[][] = [
      ['PING'],
      ['INFO', 'server'],
      ['SET', 'nl:bin', '\r\n\u0000'],
      ['GET', 'nl:bin'],
      ['GET', 'nl:missing'],
      ['RPUSH', 'nl:list', 'a', 'b', 'c'],
      ['LRANGE', 'nl:list', '0', '-1'],
      ['INCRBY', 'nl:n', '-7'],
      ['HSET', 'nl:h', 'f', 'v'],
      ['HGETALL', 'nl:h'],
      ['NOSUCHCOMMAND'],
      ['CONFIG', 'GET', 'repl-*'],
      ['ACL', 'LOG', '1'],
    ];

    before(async () => {
      server = await startTestServer({ engine });
      const socket = connect(server.port, '127.0.0.1');
      const chunks: Buffer[] = [];
      const expected = commands.length + 1;
      captured = await new Promise<Buffer>((resolve, reject) => {
        let count = 0;
        const decoder = new RespDecoder(() => {
          if (++count === expected) resolve(Buffer.concat(chunks));
        });
        socket.on('data', (d: Buffer) => {
          chunks.push(d);
          decoder.write(d);
        });
        socket.on('error', reject);
        socket.write(Buffer.concat([encodeCommand(['AUTH', 'admin', server.passwords.admin!]), ...commands.map((c) => encodeCommand(c))]));
      });
      socket.destroy();
    });
    after(async () => server?.stop());

    for (const feed of FEEDS) {
      test(`${commands.length + 1} pipelined replies, fed ${feed}, decode the same`, () => {
        const replies = decodeAll(captured, feed);
        assert.equal(replies.length, commands.length + 1);
        assert.equal(replies[0], 'OK');
        assert.equal(replies[1], 'PONG');
        assert.match((replies[2] as Buffer).toString(), new RegExp(`${engine.identity.engine}_version:${engine.identity.version.replace(/\./g, '\\.')}\r\n`));
        assert.deepEqual(replies[4], Buffer.from('\r\n\u0000'));
        assert.equal(replies[5], null);
        assert.deepEqual(plain(replies[7]!), [{ bulk: 'a' }, { bulk: 'b' }, { bulk: 'c' }]);
        assert.equal(replies[8], -7);
        assert.ok(replies[11] instanceof RespError && replies[11].kind === 'ERR');
        assert.ok(Array.isArray(replies[12]) && replies[12].length % 2 === 0);
        assert.deepEqual(replies.map(plain), decodeAll(captured, 'whole').map(plain));
      });
    }
  });
