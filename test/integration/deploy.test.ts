/**
 * Deployment files, checked by parsing (no container engine or cluster runs here):
 * deploy/kubernetes/tokengate.yaml must carry a configuration that tokengate accepts, and the
 * Deployment, Service and Dockerfile must agree with it: probes on the admin port the
 * configuration declares, the Service on its server port, the ConfigMap mounted where the image
 * looks for the file, every `${NAME}` supplied, non-root, and a grace period longer than the drain.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import type { GatewayConfig } from '../../src/config/compile.js';
import { buildConfig, parseConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/problems.js';
import { REPO } from '../fixtures/cli.js';

const MANIFEST = join(REPO, 'deploy', 'kubernetes', 'tokengate.yaml');
const DOCKERFILE = join(REPO, 'Dockerfile');
const DOCKERIGNORE = join(REPO, '.dockerignore');

/** How long the gateway drains in-flight requests on SIGTERM: startGateway's default. */
function drainMs(): number {
  const source = readFileSync(join(REPO, 'src', 'gateway.ts'), 'utf8');
  const found = /drainTimeoutMs \?\? ([\d_]+)/.exec(source);
  return found === null ? 10_000 : Number(found[1].replaceAll('_', ''));
}

// Kubernetes objects, loosely typed: the test checks the shape it needs.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- YAML documents of any shape
type Obj = Record<string, any>;

// ---------------------------------------------------------------------------------------------
// Dockerfile: a small parser (instructions with line continuations, stages split at FROM).

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

interface Stage {
  readonly image: string;
  readonly name: string | null;
  readonly instructions: Instruction[];
}

function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (pending === '' && /^\s*#/.test(line)) continue; // comments and parser directives
    if (pending !== '' && /^\s*#/.test(line)) continue; // comment lines inside a continuation
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    if (full !== '') logical.push(full);
  }
  const stages: Stage[] = [];
  for (const line of logical) {
    const match = /^(\S+)\s*(.*)$/.exec(line)!;
    const keyword = match[1].toUpperCase();
    const args = match[2].trim();
    if (keyword === 'FROM') {
      const from = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      assert.ok(from !== null, `FROM line: ${line}`);
      stages.push({ image: from[1], name: from[2] ?? null, instructions: [] });
      continue;
    }
    assert.ok(stages.length > 0, `instruction before the first FROM: ${line}`);
    stages.at(-1)!.instructions.push({ keyword, args });
  }
  return stages;
}

/** ENV instructions, both `ENV A=b C=d` and the old `ENV A b`. */
function envOf(stage: Stage): Map<string, string> {
  const env = new Map<string, string>();
  for (const { keyword, args } of stage.instructions) {
    if (keyword !== 'ENV') continue;
    if (!args.includes('=')) {
      const [name, ...rest] = args.split(/\s+/);
      env.set(name, rest.join(' '));
      continue;
    }
    for (const pair of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) env.set(pair[1], pair[2].replace(/^"(.*)"$/, '$1'));
  }
  return env;
}

function last(stage: Stage, keyword: string): Instruction | undefined {
  return stage.instructions.filter((i) => i.keyword === keyword).at(-1);
}

/** The exec form `["a", "b"]` of ENTRYPOINT / CMD. */
function execForm(instruction: Instruction | undefined): string[] | null {
  if (instruction === undefined) return null;
  try {
    const parsed = JSON.parse(instruction.args) as unknown;
    return Array.isArray(parsed) && parsed.every((x) => typeof x === 'string') ? (parsed) : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------

describe('deployment files', () => {
  let objects: Obj[];
  let configText: string;
  let config: GatewayConfig;
  /** Why the ConfigMap's configuration was refused (each test that needs it then fails with this). */
  let configError: unknown;
  let gateway: Obj; // the tokengate Deployment
  let container: Obj;
  let stages: Stage[];
  let runtime: Stage;

  const find = (kind: string, name: string): Obj => {
    const found = objects.filter((o) => o.kind === kind && o.metadata?.name === name);
    assert.equal(found.length, 1, `exactly one ${kind} ${name} in ${MANIFEST}`);
    return found[0];
  };
  /** A container port given by number or by name. */
  const portNumber = (c: Obj, port: number | string): number => {
    if (typeof port === 'number') return port;
    const named = (c.ports ?? []).find((p: Obj) => p.name === port);
    assert.ok(named !== undefined, `container port named ${port}`);
    return named.containerPort as number;
  };
  const podsOf = (selector: Record<string, string>): Obj[] =>
    objects.filter((o) => o.kind === 'Deployment' && Object.entries(selector).every(([k, v]) => o.spec?.template?.metadata?.labels?.[k] === v));

  before(() => {
    const documents = parseAllDocuments(readFileSync(MANIFEST, 'utf8'));
    assert.ok(Array.isArray(documents), 'the manifest parses as YAML documents');
    for (const document of documents) assert.deepEqual(document.errors.map((e) => e.message), [], 'no YAML errors');
    objects = documents.map((document) => document.toJS() as Obj).filter((o) => o !== null);

    const configMap = find('ConfigMap', 'tokengate-config');
    configText = configMap.data?.['tokengate.yaml'];
    assert.equal(typeof configText, 'string', 'the ConfigMap holds tokengate.yaml');
    try {
      config = buildConfig(parseConfigText(configText, 'tokengate.yaml'), { INTROSPECTION_SECRET: 'x' });
    } catch (error) {
      configError = error;
    }

    gateway = find('Deployment', 'tokengate');
    const containers = gateway.spec.template.spec.containers as Obj[];
    assert.equal(containers.length, 1);
    container = containers[0]!;

    stages = parseDockerfile(readFileSync(DOCKERFILE, 'utf8'));
    runtime = stages.at(-1)!;
  });

  describe('kubernetes', () => {
    test('every object has apiVersion, kind and a name', () => {
      assert.ok(objects.length >= 6, `${objects.length} objects`);
      for (const o of objects) {
        assert.match(String(o.apiVersion), /^(v1|apps\/v1|networking\.k8s\.io\/v1)$/, JSON.stringify(o).slice(0, 200));
        assert.match(String(o.kind), /^[A-Z][A-Za-z]+$/);
        assert.match(String(o.metadata?.name), /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      }
      for (const [kind, name] of [['ConfigMap', 'tokengate-config'], ['Secret', 'tokengate-secrets'], ['Deployment', 'tokengate'], ['Service', 'tokengate'], ['Deployment', 'tokengate-redis'], ['Service', 'tokengate-redis']] as const) {
        find(kind, name);
      }
    });

    test('the ConfigMap configuration is valid; both listeners are reachable from outside the pod', () => {
      assert.equal(configError, undefined, `tokengate refuses the ConfigMap's tokengate.yaml:\n${(configError as Error | undefined)?.message}`);
      assert.ok(config.admin !== null, 'an admin port, for the probes and /metrics');
      assert.equal(config.server.host, '0.0.0.0', 'the kubelet and the Service reach the pod by its IP');
      assert.equal(config.admin.host, '0.0.0.0', 'the kubelet probes reach the admin port by the pod IP');
      assert.notEqual(config.server.port, config.admin.port);
      assert.equal(config.validators.size, 1);
      const [validator] = [...config.validators.values()];
      assert.equal(validator.style, 'rfc7662');
      assert.ok(configText.includes('clientSecret: "${INTROSPECTION_SECRET}"'), 'the secret comes from the environment');
      assert.ok(config.routes.length >= 1);
      assert.ok(config.routes.some((route) => route.auth === 'required' && route.identity.headers.length > 0), 'a protected route with identityHeaders');
      assert.equal(config.redis?.url, 'redis://tokengate-redis:6379');
    });

    test('without INTROSPECTION_SECRET the configuration is refused (nothing silently empty)', () => {
      assert.throws(
        () => buildConfig(parseConfigText(configText, 'tokengate.yaml'), {}),
        (error: unknown) =>
          error instanceof ConfigError && error.problems.some((p) => p.path === 'validators.corp.clientAuth.clientSecret' && p.message.includes('INTROSPECTION_SECRET')),
      );
    });

    test('every ${NAME} without a default in the configuration is set in the container, the secret from the Secret', () => {
      const needed = [...configText.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]);
      assert.ok(needed.includes('INTROSPECTION_SECRET'));
      const env = new Map<string, Obj>((container.env ?? []).map((e: Obj) => [e.name as string, e]));
      const secret = find('Secret', 'tokengate-secrets');
      for (const name of needed) {
        const entry = env.get(name);
        assert.ok(entry !== undefined, `${name} is set in the container`);
        const ref = entry.valueFrom?.secretKeyRef;
        assert.ok(ref !== undefined, `${name} comes from a Secret, not a literal`);
        assert.equal(ref.name, secret.metadata.name);
        const keys = Object.keys({ ...secret.stringData, ...secret.data });
        assert.ok(keys.includes(ref.key), `the Secret has the key ${ref.key}`);
      }
    });

    test('probes: liveness GET /healthz and readiness GET /readyz on the admin port of the configuration', () => {
      const liveness = container.livenessProbe?.httpGet;
      const readiness = container.readinessProbe?.httpGet;
      assert.ok(liveness !== undefined && readiness !== undefined, 'HTTP probes');
      assert.equal(liveness.path, '/healthz');
      assert.equal(readiness.path, '/readyz');
      assert.equal(portNumber(container, liveness.port), config.admin!.port);
      assert.equal(portNumber(container, readiness.port), config.admin!.port);
      const declared = (container.ports as Obj[]).map((p) => p.containerPort);
      assert.ok(declared.includes(config.server.port) && declared.includes(config.admin!.port), `container ports ${declared.join(', ')}`);
    });

    test('the ConfigMap is mounted where the image looks for the file (TOKENGATE_CONFIG)', () => {
      const volume = (gateway.spec.template.spec.volumes as Obj[]).find((v) => v.configMap?.name === 'tokengate-config');
      assert.ok(volume !== undefined, 'a volume from the ConfigMap');
      const mount = (container.volumeMounts as Obj[]).find((m) => m.name === volume.name);
      assert.ok(mount !== undefined, 'the volume is mounted');
      assert.equal(mount.readOnly, true);
      // With subPath the mount is the file itself; otherwise each key (or its items path) is a file.
      const item = (volume.configMap.items as Obj[] | undefined)?.find((i) => i.key === 'tokengate.yaml');
      const mountedFile = mount.subPath !== undefined ? mount.mountPath : `${String(mount.mountPath).replace(/\/$/, '')}/${item?.path ?? 'tokengate.yaml'}`;

      const imageEnv = envOf(runtime).get('TOKENGATE_CONFIG');
      assert.ok(imageEnv !== undefined, 'the image sets TOKENGATE_CONFIG');
      assert.equal(mountedFile, imageEnv);
      // What the container actually reads: --config, else its own TOKENGATE_CONFIG, else the image's.
      const args = [...(container.command ?? []), ...(container.args ?? [])] as string[];
      const flag = args.indexOf('--config');
      const containerEnv = (container.env as Obj[]).find((e) => e.name === 'TOKENGATE_CONFIG')?.value;
      assert.equal(flag >= 0 ? args[flag + 1] : (containerEnv ?? imageEnv), mountedFile);
      assert.ok(args.length === 0 || args[0] === 'serve', `the container runs serve: ${args.join(' ')}`);
    });

    test('the Service sends port 80 to the server port, and exposes the admin port for Prometheus', () => {
      const service = find('Service', 'tokengate');
      const selected = podsOf(service.spec.selector);
      assert.deepEqual(selected.map((d) => d.metadata.name), ['tokengate'], 'the Service selects the gateway pods only');
      const ports = service.spec.ports as Obj[];
      const http = ports.find((p) => p.port === 80);
      assert.ok(http !== undefined, 'port 80');
      assert.equal(portNumber(container, http.targetPort), config.server.port);
      const metrics = ports.find((p) => portNumber(container, p.targetPort ?? p.port) === config.admin!.port);
      assert.ok(metrics !== undefined, 'a port to the admin listener');
      const annotations = service.metadata.annotations ?? {};
      assert.equal(annotations['prometheus.io/scrape'], 'true');
      assert.equal(Number(annotations['prometheus.io/port']), metrics.port);
      assert.equal(annotations['prometheus.io/path'], '/metrics');
    });

    test('the Deployment: 3 replicas, selector matching its pods, an image, resources', () => {
      assert.equal(gateway.spec.replicas, 3);
      const labels = gateway.spec.template.metadata.labels as Record<string, string>;
      for (const [key, value] of Object.entries(gateway.spec.selector.matchLabels as Record<string, string>)) assert.equal(labels[key], value, key);
      assert.match(String(container.image), /\S+:\S+/, 'an image with a tag');
      assert.ok(container.resources?.requests?.cpu !== undefined && container.resources?.requests?.memory !== undefined, 'requests');
      assert.ok(container.resources?.limits?.memory !== undefined, 'a memory limit');
    });

    test('the gateway runs as non-root with a read-only root filesystem', () => {
      const pod = gateway.spec.template.spec.securityContext ?? {};
      const own = container.securityContext ?? {};
      assert.equal(own.runAsNonRoot ?? pod.runAsNonRoot, true, 'runAsNonRoot');
      // The kubelet can only verify runAsNonRoot for a numeric user: the image says "USER node".
      const user = own.runAsUser ?? pod.runAsUser;
      assert.ok(Number.isInteger(user) && user > 0, `runAsUser is a non-zero uid: ${user}`);
      assert.equal(own.readOnlyRootFilesystem, true);
      assert.equal(own.allowPrivilegeEscalation, false);
      assert.ok((own.capabilities?.drop ?? []).includes('ALL'), 'all capabilities dropped');
      assert.notEqual(own.privileged, true);
    });

    test('terminationGracePeriodSeconds exceeds the preStop pause plus the gateway drain', () => {
      const grace = gateway.spec.template.spec.terminationGracePeriodSeconds as number;
      assert.ok(Number.isInteger(grace), 'set explicitly');
      const preStop = container.lifecycle?.preStop;
      const pause = preStop?.exec?.command?.[0] === 'sleep' ? Number(preStop.exec.command[1]) : (preStop?.sleep?.seconds ?? 0);
      assert.ok(Number.isFinite(pause));
      const drain = drainMs() / 1000;
      assert.ok(grace > pause + drain, `grace ${grace} s > preStop ${pause} s + drain ${drain} s`);
    });

    test('the Redis the configuration names exists: Service tokengate-redis on its port, selecting a Redis pod', () => {
      const url = new URL(config.redis!.url);
      const service = find('Service', url.hostname);
      const port = Number(url.port || 6379);
      const servicePort = (service.spec.ports as Obj[]).find((p) => p.port === port);
      assert.ok(servicePort !== undefined, `Service ${url.hostname} has port ${port}`);
      const pods = podsOf(service.spec.selector);
      assert.deepEqual(pods.map((d) => d.metadata.name), ['tokengate-redis']);
      const redis = pods[0].spec.template.spec.containers[0] as Obj;
      assert.match(String(redis.image), /^redis:/);
      assert.equal(portNumber(redis, servicePort.targetPort ?? servicePort.port), 6379);
    });
  });

  describe('Dockerfile', () => {
    test('multi-stage: at least two FROM, the final stage from node 20 (package.json engines)', () => {
      assert.ok(stages.length >= 2, `${stages.length} stages`);
      const engines = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
      const major = Number(/(\d+)/.exec(engines)![1]);
      for (const stage of stages) assert.match(stage.image, new RegExp(`^node:${major}(\\.|-|$)`), `${stage.image} runs node ${major}`);
    });

    test('the final stage runs as a user that is not root', () => {
      const user = last(runtime, 'USER');
      assert.ok(user !== undefined, 'USER in the final stage');
      const name = user.args.split(':')[0];
      assert.ok(name !== 'root' && name !== '0', `USER ${user.args}`);
    });

    test('TOKENGATE_CONFIG points into /etc/tokengate; the ports of the configuration are exposed', () => {
      assert.equal(envOf(runtime).get('TOKENGATE_CONFIG'), '/etc/tokengate/tokengate.yaml');
      const exposed = runtime.instructions.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.split(/\s+/)).map((p) => Number(p.split('/')[0]));
      assert.ok(exposed.includes(config.server.port), `EXPOSE ${exposed.join(' ')}`);
      assert.ok(exposed.includes(config.admin!.port), `EXPOSE ${exposed.join(' ')}`);
      assert.equal(last(runtime, 'STOPSIGNAL')?.args ?? 'SIGTERM', 'SIGTERM');
    });

    test('ENTRYPOINT bin/tokengate (exec form, so signals reach it), CMD serve', () => {
      assert.deepEqual(execForm(last(runtime, 'ENTRYPOINT')), ['bin/tokengate']);
      assert.deepEqual(execForm(last(runtime, 'CMD')), ['serve']);
    });

    test('the final stage holds production dependencies only, and the compiled dist/ and bin/', () => {
      const copies = runtime.instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD');
      const fromStage = (i: Instruction) => /--from=(\S+)/.exec(i.args)?.[1];
      const modules = copies.filter((i) => /node_modules/.test(i.args));
      assert.equal(modules.length, 1, 'node_modules is copied once');
      const source = stages.find((s) => s.name === fromStage(modules[0]));
      assert.ok(source !== undefined, 'node_modules comes from an earlier stage');
      const runs = source.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
      const pruned = runs.some((r) => /npm (ci|install)\b.*--omit=dev/.test(r) || /npm prune\b.*--omit=dev/.test(r) || /npm prune --production/.test(r));
      assert.ok(pruned, `the node_modules stage omits dev dependencies: ${runs.join(' | ')}`);
      // An `npm ci --omit=dev` alone would run `prepare` (a build without TypeScript): it must not.
      for (const run of runs) if (/npm ci\b/.test(run) && /--omit=dev/.test(run)) assert.match(run, /--ignore-scripts/);
      for (const run of runtime.instructions.filter((i) => i.keyword === 'RUN')) {
        assert.ok(!/npm (ci|install)\b/.test(run.args) || /--omit=dev/.test(run.args), `no dev install in the final stage: ${run.args}`);
      }
      const copied = copies.map((i) => i.args).join('\n');
      assert.match(copied, /\bdist\b/);
      assert.match(copied, /\bbin\b/);
      assert.match(copied, /package\.json/);
      assert.ok(!/\b(src|test|bench)\b/.test(copied), `no sources or tests in the final stage:\n${copied}`);
    });

    test('the build stage runs npm ci, which builds dist/ through the prepare script', () => {
      const build = stages.find((stage) => stage !== runtime && stage.instructions.some((i) => i.keyword === 'RUN' && /npm ci\b/.test(i.args) && !/--omit=dev/.test(i.args)));
      assert.ok(build !== undefined, 'a stage with a full npm ci');
      const scripts = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
      const builds = build.instructions.some((i) => i.keyword === 'RUN' && /npm run build|tsc\b/.test(i.args)) || /npm run build|tsc\b/.test(scripts.prepare ?? '');
      assert.ok(builds, 'the build stage compiles');
      assert.ok(build.instructions.some((i) => i.keyword === 'RUN' && /--ignore-scripts/.test(i.args)) === false, 'prepare is not skipped in the build stage');
    });

    test('.dockerignore keeps local state out, and nothing the build copies', () => {
      const patterns = readFileSync(DOCKERIGNORE, 'utf8')
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line !== '' && !line.startsWith('#'))
        .map((line) => line.replace(/^\/+/, '').replace(/\/+$/, ''));
      for (const needed of ['node_modules', 'dist', '.git']) assert.ok(patterns.includes(needed), `.dockerignore lists ${needed}`);
      // Every path the Dockerfile copies from the build context must survive .dockerignore.
      const sources = stages
        .flatMap((stage) => stage.instructions)
        .filter((i) => (i.keyword === 'COPY' || i.keyword === 'ADD') && !/--from=/.test(i.args))
        .flatMap((i) => i.args.replace(/--\S+/g, '').trim().split(/\s+/).slice(0, -1));
      assert.ok(sources.length > 0);
      for (const source of sources) {
        const path = source.replace(/^\.\//, '').replace(/\/+$/, '');
        for (const pattern of patterns) {
          if (pattern.startsWith('!')) continue;
          const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}(/.*)?$`);
          assert.ok(!regex.test(path), `.dockerignore pattern ${pattern} excludes ${source}, which the Dockerfile copies`);
        }
      }
    });
  });
});
