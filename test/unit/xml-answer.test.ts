/**
 * XML answers (SPEC §7.4): parsing refuses DTDs and entities before xmldom sees them (OWASP XXE,
 * billion laughs), decodes strictly as UTF-8, treats every xmldom report as malformed; XPath
 * identity paths are compiled once; xmlClaims is the judge's view.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DOMParser } from '@xmldom/xmldom';
import {
  compileXPath,
  evaluateXPath,
  parseXmlAnswer,
  xmlClaims,
  type CompiledXPath,
  type XmlClaims,
} from '../../src/validators/xml-answer.js';
import { SEED_USER_XML } from '../fixtures/seed-endpoint.js';

const BILLION_LAUGHS = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>`;

function parse(body: string | Buffer) {
  return parseXmlAnswer(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
}

function parsed(body: string | Buffer) {
  const result = parse(body);
  if (!result.ok) assert.fail(`expected a parsed document, got ${result.reason}`);
  return result.doc;
}

function xpath(expression: string): CompiledXPath {
  const result = compileXPath(expression);
  if (!result.ok) assert.fail(`expected ${expression} to compile: ${result.message}`);
  return result.xpath;
}

describe('parseXmlAnswer: refused before parsing (DTDs, entities)', () => {
  const cases: Array<[name: string, body: string]> = [
    ['external entity (XXE)', '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'],
    ['external entity, http (SSRF)', '<!DOCTYPE x [<!ENTITY e SYSTEM "http://127.0.0.1:9/secret">]><x>&e;</x>'],
    ['external DTD', '<!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd"><x/>'],
    ['public external DTD', '<!DOCTYPE x PUBLIC "-//X//Y" "http://127.0.0.1:9/evil.dtd"><x/>'],
    ['parameter entity', '<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]><x>&e;</x>'],
    [
      'parameter entity, out-of-band exfiltration shape',
      '<!DOCTYPE x [<!ENTITY % f SYSTEM "file:///etc/passwd"><!ENTITY % d "<!ENTITY &#x25; s SYSTEM \'http://127.0.0.1:9/?%f;\'>">%d;%s;]><x/>',
    ],
    ['internal entity', '<!DOCTYPE x [<!ENTITY e "EXPANDED">]><x>&e;</x>'],
    ['billion laughs', BILLION_LAUGHS],
    ['DOCTYPE without subset', '<!DOCTYPE user><user><active>true</active></user>'],
    ['lower-case doctype', '<!doctype user><user/>'],
    ['mixed-case DocType', '<!DocType user><user/>'],
    ['DOCTYPE after the XML declaration', '<?xml version="1.0"?>\n<!DOCTYPE x><x/>'],
    ['DOCTYPE after a comment', '<!-- hello --><!DOCTYPE x [<!ENTITY e "z">]><x>&e;</x>'],
    ['DOCTYPE after a processing instruction', '<?pi data?><!DOCTYPE x><x/>'],
    ['DOCTYPE behind a fake comment opener inside a PI', '<?pi <!-- ?><!DOCTYPE x [<!ENTITY e "z">]><x>&e;</x><!-- -->'],
    ['DOCTYPE after a UTF-8 BOM', '\uFEFF<!DOCTYPE x><x/>'],
    ['DOCTYPE inside the root', '<x><!DOCTYPE y></x>'],
    ['ENTITY declaration in the body', '<x><!ENTITY e "z"></x>'],
    ['ATTLIST declaration in the body', '<x><!ATTLIST x a CDATA "d"></x>'],
  ];
  for (const [name, body] of cases) {
    test(`${name}: doctype`, () => {
      assert.deepEqual(parse(body), { ok: false, reason: 'doctype' });
    });
  }

  test('billion laughs is refused fast and with flat memory', () => {
    const body = Buffer.from(BILLION_LAUGHS);
    const heapBefore = process.memoryUsage().heapUsed;
    const start = process.hrtime.bigint();
    for (let k = 0; k < 1000; k++) assert.equal(parseXmlAnswer(body).ok, false);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const grownMb = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
    assert.ok(ms < 500, `1000 refusals took ${ms} ms`);
    assert.ok(grownMb < 32, `heap grew by ${grownMb} MB`);
  });

  test('a quadratic blow-up (one 100 kB entity used 10,000 times) is refused before parsing', () => {
    const body = `<!DOCTYPE x [<!ENTITY a "${'a'.repeat(100_000)}">]><x>${'&a;'.repeat(10_000)}</x>`;
    const start = process.hrtime.bigint();
    assert.deepEqual(parse(body), { ok: false, reason: 'doctype' });
    assert.ok(Number(process.hrtime.bigint() - start) / 1e6 < 100);
  });

  const harmless: Array<[name: string, body: string, text: string]> = [
    ['<!DOCTYPE inside a comment', '<x><!-- <!DOCTYPE y [<!ENTITY e "z">]> -->t</x>', 't'],
    ['<!DOCTYPE inside CDATA', '<x><![CDATA[<!DOCTYPE y>]]></x>', '<!DOCTYPE y>'],
    ['escaped &lt;!DOCTYPE in text', '<x>&lt;!DOCTYPE y&gt;</x>', '<!DOCTYPE y>'],
    ['a bare & inside CDATA and comments', '<x><!-- & --><![CDATA[a & b]]></x>', 'a & b'],
    ['> inside an attribute value', '<x a="b>c" d=\'e>\'>t</x>', 't'],
  ];
  for (const [name, body, text] of harmless) {
    test(`${name} is not a DOCTYPE`, () => {
      assert.equal(parsed(body).documentElement?.textContent, text);
    });
  }
});

describe('what xmldom 0.9 itself does with DTDs (measured; why we refuse before parsing)', () => {
  function xmldom(source: string): { text: string | null | undefined; subset: string | undefined; reports: string[] } {
    const reports: string[] = [];
    const doc = new DOMParser({ onError: (level, message) => reports.push(`${level}: ${message}`) }).parseFromString(
      source,
      'text/xml',
    );
    return { text: doc.documentElement?.textContent, subset: doc.doctype?.internalSubset, reports };
  }

  test('an internal entity is not expanded: the literal "&e;" stays, reported as an error', () => {
    const r = xmldom('<!DOCTYPE x [<!ENTITY e "EXPANDED">]><x>&e;</x>');
    assert.equal(r.text, '&e;');
    assert.equal(r.subset, '<!ENTITY e "EXPANDED">');
    assert.deepEqual(r.reports, ['error: entity not found:&e;']);
  });

  test('an external SYSTEM entity is neither fetched nor read: the literal "&e;" stays', () => {
    const r = xmldom('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>');
    assert.equal(r.text, '&e;');
    assert.deepEqual(r.reports, ['error: entity not found:&e;']);
  });

  test('billion laughs: nothing is expanded', () => {
    const r = xmldom(BILLION_LAUGHS);
    assert.equal(r.text, '&lol9;');
  });

  test('without a strict onError, garbage like "&e;" would be a value: hence every report is fatal here', () => {
    assert.deepEqual(parse('<x>&e;</x>'), { ok: false, reason: 'malformed' });
  });
});

describe('parseXmlAnswer: encoding', () => {
  test('the seed user, UTF-8 with a declaration', () => {
    const doc = parsed(SEED_USER_XML);
    assert.deepEqual(evaluateXPath(xpath('/user/lastName'), doc), ['öhlundi']);
  });

  test('a UTF-8 BOM is stripped', () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(SEED_USER_XML)]);
    assert.deepEqual(evaluateXPath(xpath('//account/name'), parsed(body)), ['Adam Phils', 'Duffy woöf']);
  });

  const accepted: Array<[name: string, body: string]> = [
    ['no declaration', '<x>ö</x>'],
    ['encoding="utf-8"', '<?xml version="1.0" encoding="utf-8"?><x>ö</x>'],
    ["encoding='UTF8', standalone", "<?xml version='1.0' encoding='UTF8' standalone='yes'?><x>ö</x>"],
    ['declaration without encoding', '<?xml version="1.0"?><x>ö</x>'],
  ];
  for (const [name, body] of accepted) {
    test(`accepted: ${name}`, () => assert.equal(parsed(body).documentElement?.textContent, 'ö'));
  }

  const refused: Array<[name: string, body: Buffer, reason: 'not_utf8' | 'malformed']> = [
    [
      'latin1 declared, latin1 bytes',
      Buffer.concat([Buffer.from('<?xml version="1.0" encoding="ISO-8859-1"?><x>'), Buffer.from([0xf6]), Buffer.from('</x>')]),
      'not_utf8',
    ],
    ['latin1 declared, ASCII bytes', Buffer.from('<?xml version="1.0" encoding="ISO-8859-1"?><x>o</x>'), 'not_utf8'],
    ['us-ascii declared', Buffer.from('<?xml version="1.0" encoding="US-ASCII"?><x>o</x>'), 'not_utf8'],
    ['UTF-16 declared', Buffer.from('<?xml version="1.0" encoding="UTF-16"?><x/>'), 'not_utf8'],
    ['undeclared latin1 bytes', Buffer.from([0x3c, 0x78, 0x3e, 0xf6, 0x3c, 0x2f, 0x78, 0x3e]), 'not_utf8'],
    ['UTF-16LE with its BOM', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('<x/>', 'utf16le')]), 'not_utf8'],
    ['overlong UTF-8 for "<"', Buffer.from([0xc0, 0xbc, 0x78, 0x2f, 0x3e]), 'not_utf8'],
    ['a second XML declaration', Buffer.from('<x/><?xml version="1.0" encoding="ISO-8859-1"?>'), 'malformed'],
    ['XML declaration after white space', Buffer.from(' <?xml version="1.0" encoding="ISO-8859-1"?><x/>'), 'malformed'],
    ['broken XML declaration', Buffer.from('<?xml version="1.0" encoding=latin1?><x/>'), 'malformed'],
  ];
  for (const [name, body, reason] of refused) {
    test(`refused: ${name}: ${reason}`, () => assert.deepEqual(parseXmlAnswer(body), { ok: false, reason }));
  }
});

describe('parseXmlAnswer: malformed', () => {
  const cases: Array<[name: string, body: string]> = [
    ['empty body', ''],
    ['white space only', '  \n'],
    ['JSON', '{"active":true}'],
    ['plain text', 'OK'],
    ['mismatched tags', '<user><email>x</user>'],
    ['unclosed root', '<user><active>true</active>'],
    ['two roots', '<a/><b/>'],
    ['text after the root', '<a/>trailing'],
    ['unquoted attribute (an xmldom warning)', '<a b=c/>'],
    ['undefined entity', '<a>&nbsp;</a>'],
    ['bare ampersand (xmldom accepts it)', '<a>fish & chips</a>'],
    ['bare ampersand in an attribute', '<a b="x & y"/>'],
    ['bare ampersand after the root', '<a/>&'],
    ['duplicate attribute', '<a b="1" b="2"/>'],
    ['unbound prefix', '<p:a/>'],
    ['< in an attribute value', '<a b="<"/>'],
    ['unterminated comment', '<a/><!-- x'],
    ['unterminated CDATA', '<a><![CDATA[x</a>'],
    ['unterminated tag', '<a'],
    ['NUL character reference', '<a>&#0;</a>'],
    ['control character reference in an attribute', '<a b="&#1;"/>'],
    ['lone surrogate reference', '<a>&#xD800;</a>'],
    ['raw control character', '<a>\u0001</a>'],
    ['U+FFFE', '<a>\uFFFE</a>'],
    ['a second BOM', '\uFEFF\uFEFF<a/>'],
  ];
  for (const [name, body] of cases) {
    test(`${name}: malformed`, () => assert.deepEqual(parse(body), { ok: false, reason: 'malformed' }));
  }
});

describe('compileXPath', () => {
  const usable: Array<[expression: string, resultType: string]> = [
    ['/user/email', 'nodeset'],
    ['//account/uid', 'nodeset'],
    ['user/email', 'nodeset'],
    ['/user/@id', 'nodeset'],
    ['//account/@uid', 'nodeset'],
    ['/user/email/text()', 'nodeset'],
    ['//account[name="Duffy woöf"]/uid', 'nodeset'],
    ['//account/uid | /user/email', 'nodeset'],
    ['string(/user/email)', 'string'],
    ['normalize-space(/user/firstName)', 'string'],
    ['count(//account)', 'number'],
    ['boolean(/user/active)', 'boolean'],
  ];
  for (const [expression, resultType] of usable) {
    test(`usable: ${expression} (${resultType})`, () => assert.equal(xpath(expression).resultType, resultType));
  }

  const unusable: Array<[expression: string, message: RegExp]> = [
    ['', /non-empty/],
    ['   ', /non-empty/],
    ['/user/', /invalid XPath/],
    ['//', /invalid XPath/],
    ['1 +', /invalid XPath/],
    ['/user[', /invalid XPath/],
    ['$email', /variable/],
    ['/user[@id=$id]', /variable/],
    ['doc("file:///etc/passwd")', /unknown function doc\(\)/],
    ['//a[evil()]', /unknown function evil\(\)/],
    ['concat("a")', /wrong number of arguments/],
    ['count()', /wrong number of arguments/],
    ['u:user/u:email', /namespace prefixes/],
    ['/u:*', /namespace prefixes/],
    ['/user/namespace::*', /namespace axis/],
    ['x'.repeat(3000), /at most/],
  ];
  for (const [expression, message] of unusable) {
    test(`unusable: ${JSON.stringify(expression.slice(0, 40))}`, () => {
      const result = compileXPath(expression);
      assert.equal(result.ok, false);
      assert.match((result as { message: string }).message, message);
    });
  }

  test('a compiled expression is frozen and reusable across documents', () => {
    const compiled = xpath('/user/email');
    assert.ok(Object.isFrozen(compiled));
    assert.deepEqual(evaluateXPath(compiled, parsed('<user><email>a@x</email></user>')), ['a@x']);
    assert.deepEqual(evaluateXPath(compiled, parsed('<user><email>b@x</email></user>')), ['b@x']);
  });
});

describe('evaluateXPath on the seed user', () => {
  const doc = parsed(SEED_USER_XML);
  const cases: Array<[expression: string, values: string[]]> = [
    ['/user/email', ['jason.borne@marketplace.se']],
    ['/user/uid', ['abcd23456']],
    ['/user/lastName', ['öhlundi']],
    ['//account/uid', ['100004567', '100004444']],
    ['//account/name', ['Adam Phils', 'Duffy woöf']],
    ['//account[name="Duffy woöf"]/uid', ['100004444']],
    ['/user/@id', ['abcd23456']],
    ['/user/@type', ['userWsDTO']],
    ['//account/@uid', ['100004567', '100004444']],
    ['/user/email/text()', ['jason.borne@marketplace.se']],
    // document order, not expression order
    ['//account/uid | /user/uid', ['abcd23456', '100004567', '100004444']],
    ['string(//account/uid)', ['100004567']], // string() of a node-set: its first node
    ['count(//account)', ['2']],
    ['boolean(/user/active)', ['true']],
    ['/user/phone', []],
    ['/nothing/here', []],
    ['/user/@missing', []],
    ['/user/accounts/account/uid[3]', []],
  ];
  for (const [expression, values] of cases) {
    test(`${expression} -> ${JSON.stringify(values)}`, () => assert.deepEqual(evaluateXPath(xpath(expression), doc), values));
  }

  test('an element gives its text content, CDATA included, comments excluded, untrimmed', () => {
    const d = parsed('<user><email> a<!-- c -->@<![CDATA[x<y>]]> </email></user>');
    assert.deepEqual(evaluateXPath(xpath('/user/email'), d), [' a@x<y> ']);
  });

  test('a type error inside a predicate yields no values instead of throwing', () => {
    assert.deepEqual(evaluateXPath(xpath('//account[count("x")]'), doc), []);
  });
});

describe('namespaces: an unprefixed name matches unprefixed elements in any (default) namespace', () => {
  const doc = parsed(
    '<user xmlns="urn:example:user" xmlns:p="urn:example:private"><email>e@x</email><p:email>p@x</p:email><p:secret>s</p:secret></user>',
  );
  test('/user/email matches the default-namespaced element, not the prefixed one', () => {
    assert.deepEqual(evaluateXPath(xpath('/user/email'), doc), ['e@x']);
  });
  test('//secret does not match <p:secret>', () => {
    assert.deepEqual(evaluateXPath(xpath('//secret'), doc), []);
  });
  test('local-name() reaches any element, prefixed or not', () => {
    assert.deepEqual(evaluateXPath(xpath('/*/*[local-name()="email"]'), doc), ['e@x', 'p@x']);
  });
  test('a document without namespaces behaves the same', () => {
    assert.deepEqual(evaluateXPath(xpath('/user/email'), parsed('<user><email>e@x</email></user>')), ['e@x']);
  });
});

describe('xmlClaims', () => {
  const cases: Array<[name: string, body: string, claims: XmlClaims]> = [
    [
      'the seed user: active true, nothing else the judge reads',
      SEED_USER_XML,
      { active: 'true' },
    ],
    ['active false', '<user><active>false</active><email>x</email></user>', { active: 'false' }],
    ['no active element', '<user><email>x</email></user>', {}],
    ['white space is trimmed', '<r><active>\n  true\n</active></r>', { active: 'true' }],
    ['case is kept (the judge decides)', '<r><active>TRUE</active></r>', { active: 'TRUE' }],
    [
      'every claim, aud repeated',
      '<r><active>true</active><exp>1700000000</exp><nbf>1699990000</nbf><scope>orders:read profile</scope><iss>https://as.example</iss><aud>orders-api</aud><aud>billing</aud></r>',
      { active: 'true', exp: '1700000000', nbf: '1699990000', scope: 'orders:read profile', iss: 'https://as.example', aud: ['orders-api', 'billing'] },
    ],
    ['first exp wins', '<r><exp>1</exp><exp>2</exp></r>', { exp: '1' }],
    ['duplicate active: a non-true one wins (fail closed)', '<r><active>true</active><active>false</active></r>', { active: 'false' }],
    ['duplicate active, both true', '<r><active>true</active><active>true</active></r>', { active: 'true' }],
    ['only direct children of the root count', '<r><data><active>false</active><exp>1</exp></data></r>', {}],
    ['the root element itself is not a claim', '<active>false</active>', {}],
    ['an attribute is not a claim', '<r active="false"/>', {}],
    ['default namespace', '<r xmlns="urn:x"><active>false</active></r>', { active: 'false' }],
    ['a prefixed active counts too (fail closed)', '<r xmlns:t="urn:t"><t:active>false</t:active><active>true</active></r>', { active: 'false' }],
    ['empty active', '<r><active/></r>', { active: '' }],
    ['nested markup inside active: its text', '<r><active><b>tr</b>ue</active></r>', { active: 'true' }],
  ];
  for (const [name, body, claims] of cases) {
    test(name, () => assert.deepEqual(xmlClaims(parsed(body)), claims));
  }
});
