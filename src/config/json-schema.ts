/**
 * The configuration's JSON Schema (draft 2020-12), generated from the zod schema so that it can
 * never say something else: editors (the YAML language server) complete and check tokengate.yaml
 * with it. Every number and boolean may also be a `${NAME}` reference, as the loader allows.
 */
import { z } from 'zod';
import { configSchema } from './schema.js';

const REFERENCE = { type: 'string', pattern: '^\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}$', description: '${NAME} or ${NAME:-default}, from the environment' };

type Node = Record<string, unknown>;

function allowReferences(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(allowReferences);
  if (node === null || typeof node !== 'object') return node;
  const out: Node = {};
  for (const [key, value] of Object.entries(node)) out[key] = allowReferences(value);
  const type = out.type;
  if (type === 'integer' || type === 'number' || type === 'boolean') {
    const { default: fallback, description, ...rest } = out;
    return { anyOf: [rest, REFERENCE], ...(fallback === undefined ? {} : { default: fallback }), ...(description === undefined ? {} : { description }) };
  }
  return out;
}

export function configJsonSchema(): Node {
  const { $schema, ...generated } = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Node;
  return { $schema, title: 'tokengate configuration (tokengate.yaml)', ...(allowReferences(generated) as Node) };
}
