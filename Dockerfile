# faultline: coordinator and runner in one image (TypeScript run through tsx, no build step).
#   docker build -t faultline .
#   docker run -p 8080:8080 faultline coordinator --host 0.0.0.0 --port 8080 --data /data
#   docker run -e FAULTLINE_RUNNER_TOKEN=<runner token> faultline runner --url http://coordinator:8080
#     (or -e FAULTLINE_REGISTRATION_TOKEN=<token> … --name <name> to register a new runner;
#     tokens on the command line work but are visible to every process: --token-file also works)

# Dependencies in a stage with a toolchain: better-sqlite3 and re2 are native modules and
# compile from source when no prebuilt binary matches.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
WORKDIR /app
# git: the runner checks out job sources; the shell executor runs job scripts in this image.
RUN apt-get update \
  && apt-get install -y --no-install-recommends git ca-certificates \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    OTEL_EXPORTER_OTLP_ENDPOINT=http://otel-collector:4318 \
    OTEL_SERVICE_NAME=faultline
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY rules ./rules
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
# 8080: coordinator HTTP (UI, APIs, /metrics); 9252: runner /metrics.
EXPOSE 8080 9252
ENTRYPOINT ["node", "bin/faultline.js"]
CMD ["coordinator", "--host", "0.0.0.0", "--port", "8080", "--data", "/data"]
