import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CircuitBreaker } from '../../src/validators/breaker.js';

describe('circuit breaker', () => {
  test('opens after the threshold of consecutive failures, for the cooldown', () => {
    const b = new CircuitBreaker(3, 1_000);
    for (let i = 0; i < 2; i++) {
      assert.equal(b.admit(0, null), 'closed');
      b.failed(0, null, false);
    }
    assert.equal(b.admit(0, null), 'closed');
    b.failed(100, null, false);
    assert.equal(b.isOpen(100), true);
    assert.equal(b.admit(500, null), 'refused');
    assert.equal(b.admit(1_099, null), 'refused');
  });

  test('after the cooldown exactly one trial goes out; success closes, failure reopens', () => {
    const b = new CircuitBreaker(1, 1_000);
    b.failed(0, null, false);
    assert.equal(b.admit(1_000, null), 'trial');
    assert.equal(b.admit(1_001, null), 'refused', 'only one trial at a time');
    b.failed(1_002, null, true);
    assert.equal(b.admit(1_500, null), 'refused', 'reopened for another cooldown');
    assert.equal(b.admit(2_002, null), 'trial');
    b.succeeded(true);
    assert.equal(b.isOpen(2_003), false);
    assert.equal(b.admit(2_003, null), 'closed');
    assert.equal(b.admit(2_003, null), 'closed', 'closed: no limit');
  });

  test('a success resets the count of consecutive failures', () => {
    const b = new CircuitBreaker(2, 1_000);
    b.failed(0, null, false);
    b.succeeded(false);
    b.failed(0, null, false);
    assert.equal(b.admit(0, null), 'closed');
  });

  test('threshold 0 never opens', () => {
    const b = new CircuitBreaker(0, 1_000);
    for (let i = 0; i < 100; i++) b.failed(0, null, false);
    assert.equal(b.admit(0, null), 'closed');
    assert.equal(b.isOpen(0), false);
  });

  test('failures after sending count once per client: one client cannot open it for everyone', () => {
    const b = new CircuitBreaker(3, 1_000);
    for (let i = 0; i < 50; i++) b.failed(0, 'hostile', false);
    assert.equal(b.isOpen(0), false);
    assert.equal(b.admit(0, 'other'), 'closed');
    b.failed(0, 'second', false);
    assert.equal(b.isOpen(0), false);
    b.failed(0, 'third', false);
    assert.equal(b.isOpen(0), true, 'three clients failing in a row: the validator is unwell');
  });

  test('a success starts the count of clients afresh', () => {
    const b = new CircuitBreaker(2, 1_000);
    b.failed(0, 'a', false);
    b.succeeded(false);
    b.failed(0, 'a', false);
    assert.equal(b.isOpen(0), false);
    b.failed(0, 'b', false);
    assert.equal(b.isOpen(0), true);
  });

  test('nor can one client hold it open: a client whose trial failed is not asked again, the next client\'s call is the trial (regression: attack finding 5)', () => {
    const b = new CircuitBreaker(2, 1_000);
    b.failed(0, 'a', false);
    b.failed(0, 'b', false);
    assert.equal(b.isOpen(0), true);
    assert.equal(b.admit(1_000, 'hostile'), 'trial');
    b.failed(1_000, 'hostile', true);
    assert.equal(b.admit(1_001, 'hostile'), 'refused', 'its trial failed: not again');
    assert.equal(b.admit(1_001, 'good'), 'trial', 'no new cooldown for one client\'s failure');
    b.succeeded(true);
    assert.equal(b.admit(1_002, 'hostile'), 'closed');
  });

  test('a client whose trial failed is asked again after a cooldown: fewer clients than the threshold (one load balancer) are not shut out for good (regression: review finding, breaker trial)', () => {
    const b = new CircuitBreaker(3, 1_000);
    b.failed(0, null, false);
    b.failed(0, null, false);
    b.failed(0, null, false);
    assert.equal(b.admit(1_000, 'lb'), 'trial');
    b.failed(2_000, 'lb', true);
    assert.equal(b.admit(2_999, 'lb'), 'refused', 'within a cooldown of its failed trial');
    assert.equal(b.admit(3_000, 'lb'), 'trial', 'a cooldown later it may try again');
    b.succeeded(true);
    assert.equal(b.admit(3_001, 'lb'), 'closed');
  });

  test('threshold clients\' trials failing re-open it; so does one failure that cannot depend on the token', () => {
    const b = new CircuitBreaker(2, 1_000);
    b.failed(0, null, false);
    b.failed(0, null, false);
    assert.equal(b.admit(1_000, 'a'), 'trial');
    b.failed(1_000, 'a', true);
    assert.equal(b.admit(1_000, 'b'), 'trial');
    b.failed(1_000, 'b', true);
    assert.equal(b.admit(1_500, 'c'), 'refused', 'two clients failed their trials: open again');
    assert.equal(b.admit(2_000, 'a'), 'trial', 'a new cooldown, a new round of trials');
    b.failed(2_000, null, true);
    assert.equal(b.admit(2_500, 'c'), 'refused');
  });

  test('a call that was not the trial does not end the trial', () => {
    const b = new CircuitBreaker(1, 1_000);
    b.failed(0, null, false);
    assert.equal(b.admit(1_000, null), 'trial');
    b.failed(1_001, 'late-call-from-before', false); // admitted before the circuit opened
    assert.equal(b.admit(1_002, null), 'refused', 'the trial is still in flight');
  });
});
