/** RFC 9110 §8.3.1 media type: `type/subtype` in lower case, parameters dropped; '' when absent. */
export function mediaTypeOf(value: string | readonly string[] | undefined): string {
  const first = typeof value === 'string' ? value : value?.[0];
  if (first === undefined) return '';
  const semicolon = first.indexOf(';');
  return (semicolon === -1 ? first : first.slice(0, semicolon)).trim().toLowerCase();
}
