# syntax=docker/dockerfile:1
# vigil collector image. Build from the repository root:
#   docker build -f deploy/collector.Dockerfile -t vigil-collector:0.1.0 .
# (deploy/collector.Dockerfile.dockerignore is picked up by BuildKit for this Dockerfile.)
#
# Same shape as deploy/gateway.Dockerfile: manifests → build / prod-deps → runtime.
# The collector reads /proc (pidusage: /proc/<pid>/stat, /proc/uptime; match targets:
# /proc/<pid>/cmdline), all world-readable: it needs no capability and no root. It does run
# `getconf CLK_TCK` / `getconf PAGESIZE` once (pidusage), which the Debian base image has.
# Pin NODE_IMAGE by digest in production (node:22-bookworm-slim@sha256:…).
ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS manifests
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
# Every workspace's manifest (npm ci checks the lockfile against all of them); see gateway.Dockerfile.
COPY package.json package-lock.json ./
COPY libs/client/package.json libs/client/
COPY libs/protocol/package.json libs/protocol/
COPY libs/store/package.json libs/store/
COPY libs/testkit/package.json libs/testkit/
COPY services/collector/package.json services/collector/
COPY services/dashboard/package.json services/dashboard/
COPY services/gateway/package.json services/gateway/
COPY test/package.json test/

FROM manifests AS build
ENV TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
RUN --mount=type=cache,target=/root/.npm \
    npm ci --workspace=@vigil/collector --include-workspace-root --ignore-scripts
COPY turbo.json tsconfig.base.json ./
COPY libs/protocol/ libs/protocol/
COPY libs/store/ libs/store/
# testkit is a devDependency of every package: turbo's `^build` builds it first (not shipped).
COPY libs/testkit/ libs/testkit/
COPY services/collector/ services/collector/
RUN npx turbo run build --filter=@vigil/collector...

FROM manifests AS prod-deps
RUN --mount=type=cache,target=/root/.npm \
    npm ci --workspace=@vigil/collector --omit=dev --ignore-scripts

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/libs/protocol/package.json ./libs/protocol/package.json
COPY --from=build /app/libs/protocol/dist ./libs/protocol/dist
COPY --from=build /app/libs/store/package.json ./libs/store/package.json
COPY --from=build /app/libs/store/dist ./libs/store/dist
COPY --from=build /app/services/collector/package.json ./services/collector/package.json
COPY --from=build /app/services/collector/dist ./services/collector/dist
# The image's `node` user, by number (runAsNonRoot can verify it).
USER 1000:1000
# No HEALTHCHECK: the collector serves no HTTP. It never exits on a Redis outage (it buffers and
# counts what it drops); it exits 1 on a bad configuration, and the orchestrator restarts it.
STOPSIGNAL SIGTERM
# Exec form: node receives SIGTERM itself and stops within 10 s (its own deadline). When it is PID
# 1 of its container, run it with an init (compose `init: true`) if it is to supervise children.
ENTRYPOINT ["node", "services/collector/dist/cli.js"]
# Default: the config file named by VIGIL_CONFIG (or flags given as the container's command).
CMD []
