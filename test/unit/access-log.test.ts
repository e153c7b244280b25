/**
 * The access line encoder: lines are whole JSON lines in the order written, whatever their length
 * against the batch (a non-ASCII path, one longer than a batch, many that cross batch boundaries),
 * and the destination only ever receives whole lines.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AccessLog, type AccessEntry } from '../../src/observability/access-log.js';
import { fingerprintOf } from '../../src/cache/key.js';

const KEY = Buffer.alloc(32, 0xab).toString('latin1');

function entry(path: string, requestId: string): AccessEntry {
  return {
    face: 'proxy',
    method: 'GET',
    path,
    requestId,
    route: { index: 2 },
    slot: { outcome: 'allow', reason: null, cache: 'hit', tokenKey: KEY, validator: { name: 'seed' } },
    startedAt: performance.now(),
  };
}

function capture(batchBytes: number): { log: AccessLog; writes: string[] } {
  const writes: string[] = [];
  return { log: new AccessLog({ write: (text) => void writes.push(text) }, { batchBytes, flushIntervalMs: 60_000 }), writes };
}

describe('access log batches', () => {
  test('paths with quotes, backslashes and characters beyond Latin-1 come back as written', () => {
    const { log, writes } = capture(64 * 1024);
    const paths = ['/plain', '/a"b\\c', '/é/ü', '/𝄞/日本'];
    paths.forEach((path, i) => log.write(entry(path, `r${i}`), 200));
    log.flush();
    const lines = writes.join('').trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(
      lines.map((line) => line.path),
      paths,
    );
    assert.equal(lines[0].fp, fingerprintOf(KEY));
    assert.equal(lines[0].route, 2);
  });

  test('lines crossing batch boundaries and one longer than a batch stay whole and in order', () => {
    const { log, writes } = capture(1024);
    const expected: string[] = [];
    for (let i = 0; i < 200; i++) {
      // Every 50th line is longer than the whole batch.
      const path = i % 50 === 7 ? `/long/${'x'.repeat(5000)}` : `/p/${i}/${'é'.repeat(i % 13)}`;
      expected.push(path);
      log.write(entry(path, `r${i}`), 200);
    }
    log.flush();
    for (const text of writes) assert.ok(text.endsWith('\n'), 'the destination only receives whole lines');
    const lines = writes.join('').trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(
      lines.map((line) => line.path),
      expected,
    );
    assert.deepEqual(
      lines.map((line) => line.reqId),
      expected.map((_, i) => `r${i}`),
    );
  });

  test('nothing is written until a batch fills or is flushed, and a flush with nothing pending writes nothing', () => {
    const { log, writes } = capture(64 * 1024);
    log.flush();
    assert.equal(writes.length, 0);
    log.write(entry('/a', 'r1'), 200);
    assert.equal(writes.length, 0);
    log.flush();
    assert.equal(writes.length, 1);
  });
});
