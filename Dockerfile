# syntax=docker/dockerfile:1
# Confidant API image: build with the toolchain, run with production dependencies only.
#
#   docker build -t confidant .
#   docker run --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges \
#     -p 3000:3000 -e DATABASE_URL=... -e CORS_ORIGINS=... \
#     -e AUTH_SECRET_FILE=/run/secrets/auth_secret -e DATA_ENCRYPTION_KEY_FILE=... confidant
#   docker run --rm --read-only --tmpfs /tmp -e DATABASE_URL=... confidant npm run db:migrate

# Node 24, the current LTS line (package.json's engines, >=20.19, is the floor, not the target).
# ---- build: compile TypeScript and native addons, then drop dev dependencies ----
FROM node:24-bookworm-slim AS build
WORKDIR /app
# argon2 ships prebuilt binaries for amd64 and arm64; elsewhere node-gyp compiles it.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# --include=dev: the build needs TypeScript even if NODE_ENV=production is passed as a build arg.
# --omit=optional: sqlite3, the driver of the embedded development database, stays out
# (production refuses SQLite), and with it its native build and its own dependencies.
RUN npm ci --include=dev --omit=optional --no-audit --no-fund
COPY . .
RUN npm run build \
    && npm prune --omit=dev --omit=optional --no-audit --no-fund \
    && node -e "require('argon2')" \
    && test ! -e node_modules/sqlite3

# ---- runtime: no compiler, no sources, no tests ----
FROM node:24-bookworm-slim AS runtime
WORKDIR /app
# Anything that would default to the working tree goes to /tmp instead (a tmpfs under
# --read-only). In production the app itself writes nothing: PostgreSQL is required.
ENV NODE_ENV=production \
    PORT=3000 \
    DATA_DIR=/tmp/confidant \
    NPM_CONFIG_CACHE=/tmp/.npm \
    NPM_CONFIG_UPDATE_NOTIFIER=false
# Files stay owned by root and read-only to the app's user: the process cannot alter its code.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/package.json /app/.sequelizerc ./
COPY --from=build /app/migrations ./migrations
COPY --from=build /app/seeders ./seeders
# sequelize-cli (npm run db:migrate) reads its connection settings from here.
COPY --from=build /app/src/config/database.cjs ./src/config/database.cjs
USER node
EXPOSE 3000
# Liveness only (/health touches no database); readiness is the platform's /health/ready probe.
# Slim images have no curl, so node's own fetch does the request.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The server drains requests and closes the pool on SIGTERM (src/server.ts).
STOPSIGNAL SIGTERM
# node runs as PID 1 without tini: it installs its own SIGTERM/SIGINT handlers, so the
# kernel's PID 1 signal rule does not bite, and it spawns no children, so there are no
# zombies to reap. Add `docker run --init` (or `init: true` in compose) if that changes.
CMD ["node", "dist/server.js"]
