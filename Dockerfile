# syntax=docker/dockerfile:1
# The raft-ipam image from an ordinary Node 20 base: `docker build -t raft-ipam:dev .`
# (docker-compose.yml builds it this way when the image is missing). On a machine with no registry,
# scripts/build-image.sh builds an equivalent image FROM scratch (Dockerfile.scratch): same paths,
# user, volume, healthcheck and entrypoint.
ARG NODE_IMAGE=node:20-bookworm-slim

# Stage 1: install every dependency (the build needs TypeScript), compile, then drop the dev dependencies.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: classic-level and msgpackr-extract load the N-API prebuilds they ship, so nothing is
# compiled and the image needs no toolchain (npm 11 skips these scripts by default as well).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY cluster ./cluster
RUN npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# Stage 2: the runtime, with only what `raft-ipam` needs to run.
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/package.json ./
COPY docker/healthcheck.mjs ./
COPY --from=build /src/dist ./dist
# The base image's user `node` is 1000:1000, the user the scratch image runs as too; a named volume
# mounted on these directories starts with their ownership.
RUN mkdir -p /var/lib/raft-ipam /certs \
 && chown node:node /var/lib/raft-ipam /certs \
 && chmod +x /app/dist/src/cli/main.js \
 && ln -s /app/dist/src/cli/main.js /usr/local/bin/raft-ipam
USER node
VOLUME /var/lib/raft-ipam
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 CMD ["/usr/local/bin/node", "/app/healthcheck.mjs"]
ENTRYPOINT ["/usr/local/bin/node", "/app/dist/src/cli/main.js"]
CMD ["--help"]
