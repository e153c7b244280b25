import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CircuitBreaker } from '../../src/validators/breaker.js';

describe('circuit breaker', () => {
  test('opens after the threshold of consecutive failures, for the cooldown', () => {
    const b = new CircuitBreaker(3, 1_000);
    for (let i = 0; i < 2; i++) {
      assert.equal(b.admit(0), true);
      b.failed(0, null);
    }
    assert.equal(b.admit(0), true);
    b.failed(100, null);
    assert.equal(b.isOpen(100), true);
    assert.equal(b.admit(500), false);
    assert.equal(b.admit(1_099), false);
  });

  test('after the cooldown exactly one trial goes out; success closes, failure reopens', () => {
    const b = new CircuitBreaker(1, 1_000);
    b.failed(0, null);
    assert.equal(b.admit(1_000), true, 'the trial');
    assert.equal(b.admit(1_001), false, 'only one trial at a time');
    b.failed(1_002, null);
    assert.equal(b.admit(1_500), false, 'reopened for another cooldown');
    assert.equal(b.admit(2_002), true);
    b.succeeded();
    assert.equal(b.isOpen(2_003), false);
    assert.equal(b.admit(2_003), true);
    assert.equal(b.admit(2_003), true, 'closed: no limit');
  });

  test('a success resets the count of consecutive failures', () => {
    const b = new CircuitBreaker(2, 1_000);
    b.failed(0, null);
    b.succeeded();
    b.failed(0, null);
    assert.equal(b.admit(0), true);
  });

  test('threshold 0 never opens', () => {
    const b = new CircuitBreaker(0, 1_000);
    for (let i = 0; i < 100; i++) b.failed(0, null);
    assert.equal(b.admit(0), true);
    assert.equal(b.isOpen(0), false);
  });

  test('failures after sending count once per client: one client cannot open it for everyone', () => {
    const b = new CircuitBreaker(3, 1_000);
    for (let i = 0; i < 50; i++) b.failed(0, 'hostile');
    assert.equal(b.isOpen(0), false);
    assert.equal(b.admit(0), true);
    b.failed(0, 'second');
    assert.equal(b.isOpen(0), false);
    b.failed(0, 'third');
    assert.equal(b.isOpen(0), true, 'three clients failing in a row: the validator is unwell');
  });

  test('a success starts the count of clients afresh', () => {
    const b = new CircuitBreaker(2, 1_000);
    b.failed(0, 'a');
    b.succeeded();
    b.failed(0, 'a');
    assert.equal(b.isOpen(0), false);
    b.failed(0, 'b');
    assert.equal(b.isOpen(0), true);
  });

  test('a failed trial reopens it, whoever sent the trial', () => {
    const b = new CircuitBreaker(1, 1_000);
    b.failed(0, 'a');
    assert.equal(b.admit(1_000), true);
    b.failed(1_000, 'a');
    assert.equal(b.admit(1_500), false);
  });
});
