# syntax=docker/dockerfile:1
# vigil gateway image. Build from the repository root:
#   docker build -f deploy/gateway.Dockerfile -t vigil-gateway:0.1.0 .
# (deploy/gateway.Dockerfile.dockerignore is picked up by BuildKit for this Dockerfile.)
#
# Stages: manifests (every workspace's package.json + the lockfile) → build (all deps, turbo
# builds the gateway and the workspaces it depends on) and prod-deps (production deps only) →
# runtime (node, production node_modules, dist/ of the three workspaces; nothing else).
# Pin NODE_IMAGE by digest in production (node:22-bookworm-slim@sha256:…).
ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS manifests
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
# npm ci checks package-lock.json against every workspace, so every workspace's manifest is
# needed (and only the manifests, so this layer and the npm ci below stay cached until they
# change). test/e2e/deploy.test.ts fails if a workspace is missing from this list.
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
# The gateway's and the dashboard's dependencies (with their workspace dependencies) + the root's
# dev tools (tsc, turbo, vite). The gateway serves the dashboard's static build at /.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --workspace=@vigil/gateway --workspace=@vigil/dashboard --include-workspace-root --ignore-scripts
COPY turbo.json tsconfig.base.json ./
COPY libs/protocol/ libs/protocol/
COPY libs/store/ libs/store/
# testkit is a devDependency of every package: turbo's `^build` builds it first (not shipped).
COPY libs/testkit/ libs/testkit/
COPY services/gateway/ services/gateway/
COPY libs/client/ libs/client/
COPY services/dashboard/ services/dashboard/
# `...` = the gateway / dashboard and every workspace they depend on, in order.
RUN npx turbo run build --filter=@vigil/gateway... --filter=@vigil/dashboard...

FROM manifests AS prod-deps
RUN --mount=type=cache,target=/root/.npm \
    npm ci --workspace=@vigil/gateway --omit=dev --ignore-scripts

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3001
WORKDIR /app
# Everything stays owned by root and read-only for the runtime user: the process cannot change
# its own code. node_modules/@vigil/* are symlinks to the workspace directories copied below.
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/libs/protocol/package.json ./libs/protocol/package.json
COPY --from=build /app/libs/protocol/dist ./libs/protocol/dist
COPY --from=build /app/libs/store/package.json ./libs/store/package.json
COPY --from=build /app/libs/store/dist ./libs/store/dist
COPY --from=build /app/services/gateway/package.json ./services/gateway/package.json
COPY --from=build /app/services/gateway/dist ./services/gateway/dist
# Static files only: the gateway serves them at / (services/gateway/src/dashboard.ts).
COPY --from=build /app/services/dashboard/dist ./services/dashboard/dist
COPY deploy/healthcheck.mjs ./deploy/healthcheck.mjs
# The image's `node` user, by number, so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 3001
# Liveness only (/healthz answers while the event loop runs); readiness (/readyz: Redis pub/sub
# round trip) is for load balancers and Kubernetes, which stop routing to a draining gateway.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["node", "/app/deploy/healthcheck.mjs", "/healthz"]
# The gateway drains on SIGTERM (readiness false, clients let go in batches over ≤ 10 s, then
# Redis closes): give it `docker stop -t 20` / stop_grace_period 20s / terminationGracePeriodSeconds 30.
STOPSIGNAL SIGTERM
# Exec form: node is PID 1 and receives SIGTERM itself (no shell in between). The gateway starts
# no child processes, so there are no orphans to reap.
CMD ["node", "services/gateway/dist/cli.js"]
