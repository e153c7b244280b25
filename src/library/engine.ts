/**
 * The engine behind a TokenValidator: one runtime (SPEC 7.3: the gateway's validator pools,
 * caches, breakers and Redis), the policies of the options seen, and one way of asking the core.
 * The framework faces reach it through the TokenValidator an application holds.
 */
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/compile.js';
import { GatewayMetrics } from '../observability/metrics.js';
import { DecisionSlot } from '../pipeline/decision.js';
import { authorize, type Question } from '../pipeline/index.js';
import { createRuntime, releaseRuntime, type Runtime } from '../runtime.js';
import { libraryDecision, type TokenDecision } from './decision.js';
import { PolicyBook } from './options.js';

export interface Engine {
  readonly runtime: Runtime;
  readonly policies: PolicyBook;
  /** Asks the core; synchronous on a cache hit. Throws once the engine is closed. */
  decide(question: Question): TokenDecision | Promise<TokenDecision>;
  /** Releases the runtime (once, however often it is called). */
  close(): Promise<void>;
}

export function startEngine(config: GatewayConfig, log: Logger): Engine {
  const runtime = createRuntime(config, log, new GatewayMetrics({ defaultMetrics: false }));
  let closing: Promise<void> | null = null;
  return {
    runtime,
    policies: new PolicyBook(config),
    decide(question) {
      if (closing !== null) throw new Error('tokengate: this TokenValidator is closed');
      const plan = question.policy.identity;
      const decided = authorize(runtime, question, new DecisionSlot());
      return decided instanceof Promise ? decided.then((decision) => libraryDecision(decision, plan, log)) : libraryDecision(decided, plan, log);
    },
    close() {
      closing ??= releaseRuntime(runtime);
      return closing;
    },
  };
}

const engines = new WeakMap<object, Engine>();

export function bindEngine(owner: object, engine: Engine): void {
  engines.set(owner, engine);
}

/** The engine behind a TokenValidator made by createTokenValidator. */
export function engineOf(owner: object): Engine {
  const engine = engines.get(owner);
  if (engine === undefined) throw new TypeError('tokengate: expected a TokenValidator made by createTokenValidator()');
  return engine;
}
