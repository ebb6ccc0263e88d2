# Anju image, two stages:
#   build    installs every dependency (tsc, tsx, esbuild are devDependencies) and runs
#            `npm run build`: the TypeScript into dist/ and the control room bundle into dist/web/;
#            then prunes node_modules to production dependencies.
#   runtime  dist/, the pruned node_modules and package.json (ESM "type", and the package root the
#            API finds dist/web from), owned by root and run as the unprivileged `node` user.
# Roles: CMD is `all`; `docker run … anju broker|hub|sim` (docker-compose.yml uses all, broker, hub).
# No Docker engine on the project's CI machines: test/deploy/compose.test.ts checks this file by reading it.

# Node 22 LTS: Node 20 reached its end of life in April 2026 (README: minimum versions).
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# Fail the image build, not the first page load, when the compiled CLI or the web UI is missing.
RUN npm run build \
 && test -f dist/cli/main.js \
 && { test -f dist/web/index.html || { echo "dist/web/index.html missing: npm run build must bundle dashboards/web" >&2; exit 1; }; } \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production \
    ANJU_DATA_DIR=/data \
    ANJU_HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The only writable place: DuckDB (registry, tokens, alarms), the spool and generated reports.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
# 1883 MQTT over TCP · 8083 MQTT over WebSocket · 8080 REST API, SSE, web UI, /health
# 8883 MQTT over TLS · 8084 MQTT over secure WebSocket · 8443 HTTPS (with ANJU_TLS_CERT/_KEY)
EXPOSE 1883 8083 8080 8883 8084 8443
# For the roles that serve HTTP (all, hub); the broker role has none, so compose gives anju-broker
# a TCP check of its MQTT port instead.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.ANJU_HTTP_PORT||8080)+'/health').then((r)=>process.exit(r.ok?0:1),()=>require('node:https').get('https://127.0.0.1:'+(process.env.ANJU_HTTPS_PORT||8443)+'/health',{rejectUnauthorized:false},(r)=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1)))"]
# A 64 MiB young generation: see README "The Node.js process" (fewer scavenges of the same in-flight set).
ENTRYPOINT ["node", "--max-semi-space-size=64", "dist/cli/main.js"]
CMD ["all"]
