/**
 * tokengate as a library: build a configuration (from a file or an object) and run a gateway.
 * The decision core's own faces (createTokenValidator, framework middleware) come next (SPEC section 7).
 */
export { buildConfig, loadConfigFile } from './config/load.js';
export { ConfigError, type Problem } from './config/problems.js';
export type { GatewayConfig } from './config/compile.js';
export { startGateway, type Gateway, type GatewayOptions } from './gateway.js';
