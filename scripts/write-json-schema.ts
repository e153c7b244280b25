/** `npm run schema`: writes tokengate.schema.json from the configuration schema (a test checks it is current). */
import { writeFileSync } from 'node:fs';
import { configJsonSchema } from '../src/config/json-schema.js';

writeFileSync(new URL('../tokengate.schema.json', import.meta.url), `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
