# One image for both programs: the command picks the agent or the collector.
#   docker build -t viworks-monitor .
#   docker run viworks-monitor node packages/collector/dist/main.js
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/agent/package.json packages/agent/
COPY packages/collector/package.json packages/collector/
RUN npm ci --no-audit --no-fund
COPY packages packages
RUN npx tsc -b && npm prune --omit=dev

FROM node:20-bookworm-slim
# procps gives the agent getconf; the rest of its sampling reads /proc directly.
RUN apt-get update && apt-get install -y --no-install-recommends procps && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/packages packages
COPY migrations migrations
USER node
EXPOSE 8210 8220
CMD ["node", "packages/collector/dist/main.js"]
