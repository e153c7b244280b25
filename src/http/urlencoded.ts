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

/** Could `encoded` contain the parameter `name`, possibly percent-encoded? (cheap pre-check) */
export function mayContainParam(encoded: string, name: string): boolean {
  return encoded !== '' && (encoded.includes(name) || encoded.includes('%'));
}

/** Every decoded value of `name` in `encoded`; `null` for a value that is not valid percent-encoding. */
export function paramValues(encoded: string, name: string): (string | null)[] {
  const values: (string | null)[] = [];
  if (!mayContainParam(encoded, name)) return values;
  for (const part of encoded.split('&')) {
    const equals = part.indexOf('=');
    const rawName = equals === -1 ? part : part.slice(0, equals);
    if (decodeComponent(rawName) !== name) continue;
    values.push(equals === -1 ? '' : decodeComponent(part.slice(equals + 1)));
  }
  return values;
}

/** `encoded` without any `name=…` pair; every other pair is kept exactly as it was sent. */
export function removeParam(encoded: string, name: string): string {
  if (!mayContainParam(encoded, name)) return encoded;
  return encoded
    .split('&')
    .filter((part) => {
      const equals = part.indexOf('=');
      return decodeComponent(equals === -1 ? part : part.slice(0, equals)) !== name;
    })
    .join('&');
}
