/** The bytes the benchmark's stubs answer with. */
import { SEED_USER_INFO } from '../../test/fixtures/seed-endpoint.js';

/** A small backend answer (107 bytes, as in notes/http-stack-costs.md): per-request overhead is everything. */
export const BACKEND_BODY = Buffer.from(JSON.stringify({ ok: true, service: 'orders', items: [1, 2, 3], note: 'tokengate benchmark backend answer: 107 bytes long!' }));

/** The seed's user info with an exp far ahead, so every gateway that checks exp accepts it. */
export const USER_INFO_BODY = Buffer.from(JSON.stringify({ ...SEED_USER_INFO, exp: 4102444800 }));

export const INVALID_BODY = Buffer.from(JSON.stringify({ errors: [{ type: 'InvalidTokenError', message: 'Invalid access token' }] }));
