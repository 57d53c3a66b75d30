# The image deploy/kubernetes runs: docker build -t orchestrator-service:latest .
# Two stages: the build stage compiles TypeScript with the dev dependencies; the runtime
# stage installs production dependencies only and runs as the unprivileged `node` user
# (uid 1000, the runAsUser of the manifests).

FROM node:20-bookworm-slim AS build
WORKDIR /app
ENV SCARF_ANALYTICS=false
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
RUN npm run build

FROM node:20-bookworm-slim AS runtime
LABEL org.opencontainers.image.title="orchestrator-service"
WORKDIR /app
ENV NODE_ENV=production \
    PORT=8018 \
    SCARF_ANALYTICS=false
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
EXPOSE 8018
# no curl in the slim image: Node's own fetch asks the liveness route
HEALTHCHECK --interval=10s --timeout=2s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8018) + '/api/v1/orchestrator/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js"]
