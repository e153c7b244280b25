/**
 * `application/x-www-form-urlencoded` parameters, as in a query string or a form body, read and
 * removed without re-encoding the rest: the backend must get every other parameter byte for byte.
 */

function decodeComponent(text: string): string | null {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

/**
 * A parameter name as the backends that read it most loosely do: PHP turns "." and " " in a name
 * into "_" (so Laravel and Symfony see `_method` in `.method=DELETE`, and `$_GET['access_token']`
 * in `access.token`). The gateway's own parameters are found in every such spelling.
 */
function asBackendsRead(name: string): string {
  return name.replace(/[. ]/g, '_');
}

/** The longest run of `name` without "_", which every spelling of it holds unless percent-encoded. */
const invariantParts = new Map<string, string>();
function invariantPart(name: string): string {
  let part = invariantParts.get(name);
  if (part === undefined) {
    part = name.split('_').reduce((a, b) => (b.length > a.length ? b : a), '');
    invariantParts.set(name, part);
  }
  return part;
}

/** Could `encoded` contain the parameter `name` (`_` in it spelt as `_`, `.`, ` `, `+`), possibly percent-encoded? (cheap pre-check) */
export function mayContainParam(encoded: string, name: string): boolean {
  return encoded !== '' && (encoded.includes(invariantPart(name)) || encoded.includes('%'));
}

function isNamed(part: string, name: string): boolean {
  const equals = part.indexOf('=');
  const decoded = decodeComponent(equals === -1 ? part : part.slice(0, equals));
  return decoded !== null && asBackendsRead(decoded) === name;
}

/** Every decoded value of `name` in `encoded`; `null` for a value that is not valid percent-encoding. */
export function paramValues(encoded: string, name: string): (string | null)[] {
  const values: (string | null)[] = [];
  if (!mayContainParam(encoded, name)) return values;
  for (const part of encoded.split('&')) {
    if (!isNamed(part, name)) continue;
    const equals = part.indexOf('=');
    values.push(equals === -1 ? '' : decodeComponent(part.slice(equals + 1)));
  }
  return values;
}

/** `encoded` without any `name=…` pair; every other pair is kept exactly as it was sent. */
export function removeParam(encoded: string, name: string): string {
  if (!mayContainParam(encoded, name)) return encoded;
  return encoded
    .split('&')
    .filter((part) => !isNamed(part, name))
    .join('&');
}
