# syntax=docker/dockerfile:1

# ---- build: install everything, compile TypeScript into dist/, then drop the dev dependencies
FROM node:24-bookworm-slim AS build
# bcrypt and better-sqlite3 are native modules. They normally install prebuilt binaries; the
# tools let them compile from source when no prebuilt binary fits.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build \
 && npm prune --omit=dev

# ---- runtime: the compiled service, its production dependencies and the contract
FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0
WORKDIR /app
# package.json marks dist/ as ES modules; openapi.yaml is served at /docs; the mails' texts are
# read from mail-templates/ beside them (paths.ts's projectRoot).
COPY --from=build /app/package.json /app/openapi.yaml ./
COPY --from=build /app/mail-templates ./mail-templates
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The code stays owned by root; the node user may write only DATA_DIR (/app/data), used by
# the SQLite default when no DATABASE_URL is given.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# dist/server.js, because tsconfig's rootDir is the project root.
CMD ["node", "dist/server.js"]
