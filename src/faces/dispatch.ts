/**
 * The main listener's one handler: the request target is read and normalised once, then the
 * decision path (forward-auth) and the seed's endpoint are answered by their faces, and every other
 * request goes to the proxy. Both face paths are compared in normal form, so that no spelling of
 * them is ever proxied.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccessLog } from '../observability/access-log.js';
import { normalizePath, parseTarget } from '../pipeline/match-route.js';
import type { Runtime } from '../runtime.js';
import { onClosingConnection } from './exchange.js';
import { answerForwardAuth } from './forward-auth.js';
import { proxyRequest, refuseBadTarget } from './proxy.js';
import { answerValidationEndpoint } from './validation-endpoint.js';

/** `path` is `prefix`, or below it. */
function isUnder(path: string, prefix: string): boolean {
  return path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 47 /* / */);
}

export function createRequestHandler(current: () => Runtime, access: AccessLog): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    // Pipelined behind a refusal that closes the connection: the client's next request is not served.
    if (onClosingConnection(req)) return void res.destroy();
    const runtime = current();
    const config = runtime.config;
    const target = parseTarget(req.url ?? '');
    const path = target === null ? null : normalizePath(target.path);
    if (path === null) return refuseBadTarget(runtime, req, res, access, target?.path ?? '');
    const query = target!.query;
    if (config.forwardAuth !== null && isUnder(path, config.forwardAuth.path)) return answerForwardAuth(runtime, req, res, access, path.slice(config.forwardAuth.path.length), query);
    if (config.validationEndpoint !== null && path === config.validationEndpoint.path) return answerValidationEndpoint(runtime, req, res, access, path);
    proxyRequest(runtime, req, res, access, path, query);
  };
}
