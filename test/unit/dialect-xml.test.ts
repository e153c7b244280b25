/**
 * Regressions of the XML reader's cost, found while measuring SPEC 7.4's answer bound: the markup
 * scan looked for the next "&" to the end of the document once per tag (quadratic without any "&":
 * 1 MiB took over a second), and xpath sorted node-sets by scanning siblings (`//account/uid` over
 * 4,004 siblings took 3 s). Both are linear now; the results are the same, in document order.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileIdentityPlan, renderIdentity, type DroppedIdentityHeader } from '../../src/identity/plan.js';
import { MAX_XML_ANSWER_BYTES } from '../../src/validators/judge.js';
import { compileXPath, evaluateXPath, parseXmlAnswer, type CompiledXPath } from '../../src/validators/xml-answer.js';

function xpath(expression: string): CompiledXPath {
  const compiled = compileXPath(expression);
  assert.ok(compiled.ok, expression);
  return compiled.xpath;
}

function accounts(count: number): Buffer {
  let body = '<user><uid>u</uid><accounts>';
  for (let i = 0; i < count; i++) body += `<account id="a${i}"><name>Duffy woöf ${i}</name><uid>${i}</uid></account>`;
  return Buffer.from(`${body}</accounts></user>`);
}

function timed<T>(run: () => T): { value: T; ms: number } {
  const started = performance.now();
  const value = run();
  return { value, ms: performance.now() - started };
}

describe('XML answers: linear cost (regressions)', () => {
  test('a 1 MiB document without "&" parses in well under a second', () => {
    const body = accounts(16_000);
    assert.ok(body.length > 900_000);
    const { value, ms } = timed(() => parseXmlAnswer(body));
    assert.ok(value.ok);
    assert.ok(ms < 1_000, `${ms.toFixed(0)} ms`);
  });

  test('a document at the answer bound parses and is read by XPath in milliseconds', () => {
    const body = accounts(900);
    assert.ok(body.length < MAX_XML_ANSWER_BYTES && body.length > MAX_XML_ANSWER_BYTES / 2);
    const parsed = timed(() => parseXmlAnswer(body));
    assert.ok(parsed.value.ok);
    const doc = parsed.value.doc;
    for (const expression of ['//account/uid', '/user/accounts/account/name', '/user/accounts/account[last()]/uid', '//@id']) {
      const { value, ms } = timed(() => evaluateXPath(xpath(expression), doc));
      assert.ok(value.length >= 1, expression);
      assert.ok(ms < 100, `${expression}: ${ms.toFixed(0)} ms`);
    }
    assert.ok(parsed.ms < 200, `parse: ${parsed.ms.toFixed(0)} ms`);
  });

  test('4,000 siblings: still in document order, no duplicates, quickly', () => {
    const parsed = parseXmlAnswer(accounts(4_000));
    assert.ok(parsed.ok);
    const { value, ms } = timed(() => evaluateXPath(xpath('//account/uid | //account[1]/uid'), parsed.doc));
    assert.deepEqual(value, Array.from({ length: 4_000 }, (_, i) => String(i)));
    assert.ok(ms < 500, `${ms.toFixed(0)} ms`);
  });

  test('document order across elements, attributes and text, as XPath 1.0 section 5 defines it', () => {
    const parsed = parseXmlAnswer(Buffer.from('<u a="1" b="2"><x>t1</x><y c="3">t2</y><x>t3</x></u>'));
    assert.ok(parsed.ok);
    const doc = parsed.doc;
    assert.deepEqual(evaluateXPath(xpath('//x | //@* | //y/text()'), doc), ['1', '2', 't1', '3', 't2', 't3']);
    assert.deepEqual(evaluateXPath(xpath('string(//x)'), doc), ['t1'], 'the first node in document order');
    assert.deepEqual(evaluateXPath(xpath('(//x)[2]'), doc), ['t3']);
    assert.deepEqual(evaluateXPath(xpath('//x[last()]'), doc), ['t3']);
    assert.deepEqual(evaluateXPath(xpath('//y/preceding-sibling::x'), doc), ['t1']);
    assert.deepEqual(evaluateXPath(xpath('//y/following-sibling::x'), doc), ['t3']);
  });

  test('XPath identity values go through the same rendering as JSONPath ones', () => {
    const parsed = parseXmlAnswer(Buffer.from('<user><n>öhlundi</n><n>Duffy woöf</n><bad>a\r\nb</bad><big>' + 'x'.repeat(5_000) + '</big></user>'));
    assert.ok(parsed.ok);
    const dropped: DroppedIdentityHeader[] = [];
    const plan = compileIdentityPlan(0, { 'X-N': '//n', 'X-Bad': '/user/bad', 'X-Big': '/user/big', 'X-None': '/user/none', 'X-Json': 'n' }, 'percent', 4_096, []);
    assert.deepEqual(renderIdentity(plan, parsed.doc, dropped), ['X-N', '%C3%B6hlundi,Duffy%20wo%C3%B6f']);
    assert.deepEqual(dropped, [{ header: 'X-Bad', reason: 'control_character' }, { header: 'X-Big', reason: 'too_large' }]);
    const utf8 = compileIdentityPlan(0, { 'X-N': '//n' }, 'utf8', 4_096, []);
    assert.deepEqual(Buffer.from(renderIdentity(utf8, parsed.doc, [])[1], 'latin1'), Buffer.from('öhlundi,Duffy woöf', 'utf8'));
  });
});
