/**
 * nginx in the benchmark, set up as notes/measuring-peers.md says is fair: one worker, upstream
 * keep-alive everywhere (`keepalive`, HTTP/1.1, `Connection ""` repeated in every location that
 * sets headers), and for the auth_request peer the documented pattern, with or without proxy_cache.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BACKEND_BODY, INVALID_BODY, USER_INFO_BODY } from './bodies.js';
import { startChild, type Child } from './processes.js';

export function nginxBinary(): string | null {
  for (const candidate of ['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx']) {
    try {
      execFileSync(candidate, ['-v'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

function common(dir: string): string {
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp, { recursive: true });
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  return `${user}worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log stderr error;
events { worker_connections 8192; multi_accept on; }
`;
}

function httpCommon(dir: string): string {
  const tmp = join(dir, 'tmp');
  return `  access_log off;
  client_body_temp_path ${tmp}/body; proxy_temp_path ${tmp}/proxy; fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi; scgi_temp_path ${tmp}/scgi;
  keepalive_requests 1000000;
`;
}

/** nginx-quoted literal for `return`. */
function literal(body: Buffer): string {
  return `'${body.toString('utf8').replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** The cheap stubs: a backend and a validator that accepts `Bearer tok-<n>`; both log the token to count calls. */
export function stubConfig(dir: string, backendPort: number, validatorPort: number): string {
  return `${common(dir)}http {
${httpCommon(dir)}  log_format token '$http_authorization';
  map $http_authorization $token_valid { default 0; "~^Bearer tok-[0-9]+$" 1; }
  server {
    listen 127.0.0.1:${backendPort};
    access_log ${join(dir, 'backend.log')} token buffer=256k flush=1s;
    location / { default_type application/json; return 200 ${literal(BACKEND_BODY)}; }
  }
  server {
    listen 127.0.0.1:${validatorPort};
    access_log ${join(dir, 'validator.log')} token buffer=256k flush=1s;
    location / {
      default_type application/json;
      if ($token_valid = 0) { return 401 ${literal(INVALID_BODY)}; }
      return 200 ${literal(USER_INFO_BODY)};
    }
  }
}
`;
}

/** The peer: nginx `auth_request` against the validator, optionally caching its answers. */
export function authRequestConfig(dir: string, port: number, backend: string, validator: string, validatorPath: string, cache: boolean): string {
  const cacheZone = cache ? `  proxy_cache_path ${join(dir, 'cache')} levels=1:2 keys_zone=authcache:10m;\n` : '';
  const cacheRules = cache
    ? `      proxy_cache authcache;
      proxy_cache_key $http_authorization;
      proxy_cache_valid 200 30s;
      proxy_cache_lock on;
      proxy_ignore_headers Cache-Control Expires Set-Cookie Vary;
`
    : '';
  return `${common(dir)}http {
${httpCommon(dir)}${cacheZone}  upstream backend { server ${backend}; keepalive 64; }
  upstream validator { server ${validator}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      auth_request /_introspect;
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
    location = /_introspect {
      internal;
      proxy_pass http://validator${validatorPath};
      proxy_pass_request_body off;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
${cacheRules}    }
  }
}
`;
}

/** A whole nginx.conf around the http-context directives README's forward-auth section gives. */
export function forwardAuthHttp(directives: string, dir: string): string {
  return `${common(dir)}http {
${httpCommon(dir)}${directives}}
`;
}

export function startNginx(binary: string, dir: string, config: string): Child {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, config);
  return startChild(binary, ['-p', dir, '-c', file, '-g', 'daemon off;']);
}

/** The lines of a buffered nginx access log, after asking nginx to flush it (SIGUSR1 reopens the logs). */
export async function readLogLines(nginx: Child, file: string): Promise<string[]> {
  nginx.process.kill('SIGUSR1');
  await new Promise((resolve) => setTimeout(resolve, 300));
  try {
    return readFileSync(file, 'utf8').split('\n').filter((line) => line !== '');
  } catch {
    return [];
  }
}
