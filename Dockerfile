# syntax=docker/dockerfile:1
#
# tokengate container image.
#
#   docker build -t tokengate .
#   docker run --rm -p 8080:8080 -p 9090:9090 \
#     -v "$PWD/tokengate.yaml:/etc/tokengate/tokengate.yaml:ro" -e INTROSPECTION_SECRET=… tokengate
#
# The configuration is mounted at $TOKENGATE_CONFIG (a Kubernetes ConfigMap: see
# deploy/kubernetes/tokengate.yaml). Inside a container, `server` and `admin` must listen on
# 0.0.0.0, not 127.0.0.1, or nothing outside the container (port mapping, kubelet probes,
# Prometheus) can reach them. SIGTERM drains in-flight requests (up to 10 s) and exits 0;
# SIGHUP reloads the configuration file.

# --- build: all dependencies, compile TypeScript to dist/ ------------------------------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
# `npm ci` runs the `prepare` script, which is `npm run build` (tsc -> dist/).
RUN npm ci --no-audit --no-fund \
 && test -f dist/cli/main.js

# --- production dependencies only (no TypeScript, tsx, autocannon, …) --------------------------
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would try to build, and no production dependency needs a script.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# --- runtime ----------------------------------------------------------------------------------
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    TOKENGATE_CONFIG=/etc/tokengate/tokengate.yaml
WORKDIR /app
# Owned by root and read-only for the user that runs the gateway.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY package.json ./
# The image's unprivileged user (uid 1000); Kubernetes needs the numeric id (runAsUser: 1000)
# to verify runAsNonRoot.
USER node
# 8080: the gateway (server.port); 9090: admin (/healthz, /readyz, /metrics, POST /revoke).
EXPOSE 8080 9090
STOPSIGNAL SIGTERM
ENTRYPOINT ["bin/tokengate"]
CMD ["serve"]
