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

/** The least of five runs' milliseconds (the least disturbed by the rest of the machine). */
function leastMs(run: () => unknown): number {
  let least = Infinity;
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    run();
    least = Math.min(least, performance.now() - started);
  }
  return least;
}

/**
 * How much longer `run` takes on four times the input: about 4 when linear, 16 when quadratic. A
 * ratio within one run, not a wall-clock bound, so a busy machine does not fail it.
 */
function growth(run: (size: number) => unknown, size: number): number {
  return leastMs(() => run(4 * size)) / Math.max(leastMs(() => run(size)), 0.05);
}

/** Between linear (4) and quadratic (16), with room for a machine busy with other tests. */
const LINEAR = 12;

describe('XML answers: linear cost (regressions)', () => {
  test('a 1 MiB document without "&" parses, in time linear in its size', () => {
    const body = accounts(16_000);
    assert.ok(body.length > 900_000);
    assert.ok(parseXmlAnswer(body).ok);
    const ratio = growth((n) => parseXmlAnswer(accounts(n)), 4_000);
    assert.ok(ratio < LINEAR, `4x the document took ${ratio.toFixed(1)}x the time`);
  });

  test('a document at the answer bound parses and is read by XPath, in time linear in its size', () => {
    const body = accounts(900);
    assert.ok(body.length < MAX_XML_ANSWER_BYTES && body.length > MAX_XML_ANSWER_BYTES / 2);
    const parsed = parseXmlAnswer(body);
    assert.ok(parsed.ok);
    for (const expression of ['//account/uid', '/user/accounts/account/name', '/user/accounts/account[last()]/uid', '//@id']) {
      assert.ok(evaluateXPath(xpath(expression), parsed.doc).length >= 1, expression);
      const docs = new Map<number, ReturnType<typeof parseXmlAnswer>>();
      const ratio = growth((n) => {
        const doc = docs.get(n) ?? docs.set(n, parseXmlAnswer(accounts(n))).get(n)!;
        assert.ok(doc.ok);
        return evaluateXPath(xpath(expression), doc.doc);
      }, 900);
      assert.ok(ratio < LINEAR, `${expression}: 4x the siblings took ${ratio.toFixed(1)}x the time`);
    }
  });

  test('4,000 siblings: still in document order, no duplicates, in time linear in their number', () => {
    const parsed = parseXmlAnswer(accounts(4_000));
    assert.ok(parsed.ok);
    const value = evaluateXPath(xpath('//account/uid | //account[1]/uid'), parsed.doc);
    assert.deepEqual(value, Array.from({ length: 4_000 }, (_, i) => String(i)));
    const small = parseXmlAnswer(accounts(1_000));
    assert.ok(small.ok);
    const union = xpath('//account/uid | //account[1]/uid');
    const ratio = leastMs(() => evaluateXPath(union, parsed.doc)) / Math.max(leastMs(() => evaluateXPath(union, small.doc)), 0.05);
    assert.ok(ratio < LINEAR, `4x the siblings took ${ratio.toFixed(1)}x the time`);
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
