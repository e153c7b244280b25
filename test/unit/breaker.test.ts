import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CircuitBreaker } from '../../src/validators/breaker.js';

describe('circuit breaker', () => {
  test('opens after the threshold of consecutive failures, for the cooldown', () => {
    const b = new CircuitBreaker(3, 1_000);
    for (let i = 0; i < 2; i++) {
      assert.equal(b.admit(0), true);
      b.failed(0);
    }
    assert.equal(b.admit(0), true);
    b.failed(100);
    assert.equal(b.isOpen(100), true);
    assert.equal(b.admit(500), false);
    assert.equal(b.admit(1_099), false);
  });

  test('after the cooldown exactly one trial goes out; success closes, failure reopens', () => {
    const b = new CircuitBreaker(1, 1_000);
    b.failed(0);
    assert.equal(b.admit(1_000), true, 'the trial');
    assert.equal(b.admit(1_001), false, 'only one trial at a time');
    b.failed(1_002);
    assert.equal(b.admit(1_500), false, 'reopened for another cooldown');
    assert.equal(b.admit(2_002), true);
    b.succeeded();
    assert.equal(b.isOpen(2_003), false);
    assert.equal(b.admit(2_003), true);
    assert.equal(b.admit(2_003), true, 'closed: no limit');
  });

  test('a success resets the count of consecutive failures', () => {
    const b = new CircuitBreaker(2, 1_000);
    b.failed(0);
    b.succeeded();
    b.failed(0);
    assert.equal(b.admit(0), true);
  });

  test('threshold 0 never opens', () => {
    const b = new CircuitBreaker(0, 1_000);
    for (let i = 0; i < 100; i++) b.failed(0);
    assert.equal(b.admit(0), true);
    assert.equal(b.isOpen(0), false);
  });
});
