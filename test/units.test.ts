import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  formatK8sBytes,
  formatK8sMillicores,
  formatRedisSize,
  parseDurationSeconds,
  parseK8sBytes,
  parseK8sMillicores,
  parseRedisSize,
} from '../src/config/units.js';

describe('Redis sizes', () => {
  test('k, m, g are powers of 1000; kb, mb, gb powers of 1024', () => {
    assert.equal(parseRedisSize('1k'), 1000);
    assert.equal(parseRedisSize('1kb'), 1024);
    assert.equal(parseRedisSize('1m'), 1_000_000);
    assert.equal(parseRedisSize('1mb'), 1_048_576);
    assert.equal(parseRedisSize('1g'), 1_000_000_000);
    assert.equal(parseRedisSize('1gb'), 1_073_741_824);
    assert.equal(parseRedisSize('256mb'), 268_435_456);
    assert.equal(parseRedisSize('512m'), 512_000_000);
  });

  test('a bare number, or one with b, is bytes', () => {
    assert.equal(parseRedisSize('0'), 0);
    assert.equal(parseRedisSize('100000'), 100_000);
    assert.equal(parseRedisSize('42b'), 42);
  });

  test('units are case-insensitive and surrounding blanks are ignored', () => {
    for (const text of ['1GB', '1Gb', '1gB', '1gb', ' 1gb ']) assert.equal(parseRedisSize(text), 1_073_741_824, text);
    assert.equal(parseRedisSize('3K'), 3000);
    assert.equal(parseRedisSize('3M'), 3_000_000);
  });

  test('malformed sizes are undefined', () => {
    for (const text of ['', 'mb', '12zb', '1tb', '1t', '1.5gb', '1 gb', '1e3', '+1mb', '0x10', 'gb1', '1gbb', '1kib']) {
      assert.equal(parseRedisSize(text), undefined, JSON.stringify(text));
    }
  });

  test('sizes beyond 2^53 are refused rather than rounded', () => {
    assert.equal(parseRedisSize('9007199254740991'), Number.MAX_SAFE_INTEGER);
    assert.equal(parseRedisSize('9007199254740992'), undefined);
    assert.equal(parseRedisSize('99999999999gb'), undefined);
  });

  test('format uses the largest binary unit that divides exactly', () => {
    assert.equal(formatRedisSize(0), '0');
    assert.equal(formatRedisSize(268_435_456), '256mb');
    assert.equal(formatRedisSize(1_073_741_824), '1gb');
    assert.equal(formatRedisSize(1536 * 1024 * 1024), '1536mb');
    assert.equal(formatRedisSize(3072), '3kb');
    assert.equal(formatRedisSize(1000), '1000');
    assert.equal(formatRedisSize(1_000_000), '1000000');
    assert.equal(formatRedisSize(1025), '1025');
  });

  test('format -> parse round-trips', () => {
    for (const bytes of [0, 1, 1000, 1023, 1024, 4096, 1_000_000, 1_048_576, 268_435_456, 3 * 2 ** 30, 2 ** 40 + 1024]) {
      assert.equal(parseRedisSize(formatRedisSize(bytes)), bytes, String(bytes));
    }
  });
});

describe('Kubernetes memory quantities', () => {
  test('binary and decimal suffixes', () => {
    assert.equal(parseK8sBytes('640Mi'), 671_088_640);
    assert.equal(parseK8sBytes('1Gi'), 1_073_741_824);
    assert.equal(parseK8sBytes('1Ki'), 1024);
    assert.equal(parseK8sBytes('1Ti'), 2 ** 40);
    assert.equal(parseK8sBytes('1G'), 1_000_000_000);
    assert.equal(parseK8sBytes('1M'), 1_000_000);
    assert.equal(parseK8sBytes('512000k'), 512_000_000);
    assert.equal(parseK8sBytes('128974848'), 128_974_848);
  });

  test('decimal exponents and exact fractions', () => {
    assert.equal(parseK8sBytes('1e3'), 1000);
    assert.equal(parseK8sBytes('1E6'), 1_000_000);
    assert.equal(parseK8sBytes('129e6'), 129_000_000);
    assert.equal(parseK8sBytes('1.5Gi'), 1_610_612_736);
    assert.equal(parseK8sBytes('0.5Ki'), 512);
    assert.equal(parseK8sBytes('1.5k'), 1500);
    assert.equal(parseK8sBytes('2000m'), 2);
  });

  test('fractional bytes are refused', () => {
    for (const text of ['0.5', '1.5', '1e-1', '1m', '1500m', '0.1Ki', '1.0000001M']) {
      assert.equal(parseK8sBytes(text), undefined, text);
    }
  });

  test('suffixes are case-sensitive and malformed quantities are undefined', () => {
    for (const text of ['', 'Mi', '1mi', '1gi', '1MB', '1Mb', '1 Mi', '-1Mi', '1Gi1', 'abc', '1.Mi']) {
      assert.equal(parseK8sBytes(text), undefined, JSON.stringify(text));
    }
  });

  test('format uses the largest exact binary suffix and round-trips', () => {
    assert.equal(formatK8sBytes(671_088_640), '640Mi');
    assert.equal(formatK8sBytes(1_073_741_824), '1Gi');
    assert.equal(formatK8sBytes(402_653_184), '384Mi');
    assert.equal(formatK8sBytes(2 ** 40), '1Ti');
    assert.equal(formatK8sBytes(1000), '1000');
    assert.equal(formatK8sBytes(0), '0');
    for (const bytes of [0, 1, 1000, 1024, 671_088_640, 1_000_000_000, 2 ** 40, 3 * 2 ** 20 + 1024]) {
      assert.equal(parseK8sBytes(formatK8sBytes(bytes)), bytes, String(bytes));
    }
  });
});

describe('Kubernetes CPU quantities', () => {
  test('millicores, cores and fractions', () => {
    assert.equal(parseK8sMillicores('100m'), 100);
    assert.equal(parseK8sMillicores('0.5'), 500);
    assert.equal(parseK8sMillicores('2'), 2000);
    assert.equal(parseK8sMillicores('1.25'), 1250);
    assert.equal(parseK8sMillicores('0.001'), 1);
    assert.equal(parseK8sMillicores('1e3'), 1_000_000);
    assert.equal(parseK8sMillicores('1k'), 1_000_000);
  });

  test('less than a millicore, or malformed, is undefined', () => {
    for (const text of ['0.0001', '0.5m', '100u', '', 'm', '100 m', '-1', '1Mi1', 'half']) {
      assert.equal(parseK8sMillicores(text), undefined, JSON.stringify(text));
    }
  });

  test('format and round trip', () => {
    assert.equal(formatK8sMillicores(100), '100m');
    assert.equal(formatK8sMillicores(2000), '2');
    assert.equal(formatK8sMillicores(1500), '1500m');
    assert.equal(formatK8sMillicores(0), '0');
    for (const m of [0, 1, 100, 250, 1000, 1500, 64000]) assert.equal(parseK8sMillicores(formatK8sMillicores(m)), m, String(m));
  });
});

describe('durations', () => {
  test('s, m, h, d and bare seconds', () => {
    assert.equal(parseDurationSeconds('30s'), 30);
    assert.equal(parseDurationSeconds('15m'), 900);
    assert.equal(parseDurationSeconds('1h'), 3600);
    assert.equal(parseDurationSeconds('1d'), 86_400);
    assert.equal(parseDurationSeconds('90'), 90);
    assert.equal(parseDurationSeconds('0'), 0);
    assert.equal(parseDurationSeconds(' 2h '), 7200);
  });

  test('malformed durations are undefined', () => {
    for (const text of ['', 'h', '1.5h', '1w', '1H', '-1s', '1h30m', '1 h', 'soon']) {
      assert.equal(parseDurationSeconds(text), undefined, JSON.stringify(text));
    }
  });
});
