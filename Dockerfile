# Labvisor server image: `docker build -t labvisor .` then
#   docker run -p 8080:8080 -v labvisor-data:/data labvisor
# The first start builds the default busybox image into /data and prints the API token once (docker logs).
# Each step is the command CI (.ci/run) and the README use: npm ci, npm run build, scripts/fetch-busybox.sh.

# ---- build: compile TypeScript, build better-sqlite3, fetch Debian's riscv64 busybox ----
FROM node:20-bookworm AS build
# python3/make/g++: node-gyp builds better-sqlite3; apt/dpkg/keyring/certificates: fetch-busybox.sh downloads
# busybox-static:riscv64 from Debian trixie with a private apt configuration.
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      python3 make g++ apt dpkg debian-archive-keyring ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Node's headers live under /usr/local in this image (the repository's .npmrc points node-gyp at /usr, where
# Debian's nodejs package puts them).
ENV npm_config_nodedir=/usr/local
COPY package.json package-lock.json .npmrc prisma.config.ts ./
COPY prisma ./prisma
COPY scripts ./scripts
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && bash scripts/fetch-busybox.sh && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: the compiled server, production dependencies, the image recipe; runs as a non-root user ----
FROM node:20-bookworm-slim
RUN groupadd --system --gid 10001 labvisor \
 && useradd --system --uid 10001 --gid labvisor --home-dir /data --shell /usr/sbin/nologin labvisor \
 && mkdir -p /data && chown labvisor:labvisor /data
WORKDIR /app
COPY --from=build /app/package.json /app/openapi.yaml ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/public ./public
COPY --from=build /app/images ./images
COPY --from=build /app/prisma/migrations ./prisma/migrations
COPY --from=build /app/prisma/postgres/migrations ./prisma/postgres/migrations
COPY --from=build /app/build/guest/busybox ./build/guest/busybox
ENV NODE_ENV=production LABVISOR_HOME=/data
VOLUME ["/data"]
USER labvisor
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:8080/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "bin/labvisor.js", "serve", "--host", "0.0.0.0", "--port", "8080", "--data", "/data"]
