# syntax=docker/dockerfile:1
# One image for both processes: the api (default CMD) and the worker (docker-compose overrides the command).
# The code targets Node 20 and 22; the image runs 22.
ARG NODE_IMAGE=node:22-bookworm-slim

# ---- dependencies (dev included, for the build) -------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund

# ---- build, then drop dev dependencies ------------------------------------------------------------------------
FROM deps AS build
COPY . .
# `build` = tsc -p tsconfig.build.json → dist/apps/{api,worker}/src/main.js and dist/libs/**, and copies the SQL
# migrations next to the compiled store (dist/libs/store/migrations), where it looks for them.
RUN npm run build \
  && test -f dist/apps/api/src/main.js \
  && test -f dist/apps/worker/src/main.js
RUN npm prune --omit=dev --no-audit --no-fund

# ---- runtime ----------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# tsconfig-paths/register resolves the @app/* aliases from tsconfig.json "paths", rebased onto dist/.
# tsconfig-paths 4.x reads TS_NODE_BASEURL (no underscore between BASE and URL).
ENV NODE_ENV=production \
    TS_NODE_PROJECT=tsconfig.json \
    TS_NODE_BASEURL=./dist \
    PORT=3000
WORKDIR /app
# Code and dependencies stay owned by root (read-only for the app user).
COPY --from=build /app/package.json /app/tsconfig.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The only place the app writes: .eml files when SMTP_URL is not set.
RUN mkdir -p /app/outbox && chown node:node /app/outbox
USER node
EXPOSE 3000
# api; the worker runs the same image with: node -r tsconfig-paths/register dist/apps/worker/src/main.js
CMD ["node", "-r", "tsconfig-paths/register", "dist/apps/api/src/main.js"]
