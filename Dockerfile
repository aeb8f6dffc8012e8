# neurallog-redis tools image: this project's CLI (backup, backups prune, restore, monitor, doctor, ...)
# with Debian 12's redis-tools (redis-cli and redis-check-rdb 7.0.15, the server's release), isal (igzip), zstd and openssl.
# The Kubernetes backup CronJob and the Compose backup service run it (render kubernetes|compose,
# `deploy.toolsImage`). Build and push it yourself, e.g.
#   docker build -t registry.example.com/neurallog-redis:0.1.0 .
#   docker push registry.example.com/neurallog-redis:0.1.0
# and set `deploy.toolsImage` in the model to that name (default: neurallog-redis:0.1.0).

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
# --ignore-scripts: no `prepare` build before the sources are copied, and no esbuild postinstall
# (its binary package is installed anyway; the image runs the bundle in dist/bundle).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
COPY scripts/bundle-cli.mjs ./scripts/bundle-cli.mjs
RUN npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-tools isal zstd openssl \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY schema ./schema
# /backups belongs to the image's `node` user (uid 1000): a Compose named volume mounted there starts
# with this owner; on Kubernetes the pod's fsGroup 1000 makes the claim writable.
RUN ln -s /app/bin/neurallog-redis /usr/local/bin/neurallog-redis \
 && mkdir -p /backups \
 && chown node:node /backups
USER node
ENV NODE_ENV=production
ENTRYPOINT ["neurallog-redis"]
CMD ["--help"]
