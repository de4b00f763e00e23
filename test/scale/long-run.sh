#!/bin/sh
# The long versions of the scale-out tests (several minutes; CI runs the short ones): a bigger stream through two
# workers on a Redis Cluster, then a longer stream through five Sentinel failovers. Each prints its figures.
#   test/scale/long-run.sh            (from the repository root; Redis, PostgreSQL and redis-server as for npm test)
set -eu
cd "$(dirname "$0")/../.."
SCALE_CLUSTER_PATIENTS="${SCALE_CLUSTER_PATIENTS:-1000}" \
  npx jest test/scale/redis-cluster.int-spec.ts
SCALE_SENTINEL_PATIENTS="${SCALE_SENTINEL_PATIENTS:-2000}" \
SCALE_SENTINEL_KILLS="${SCALE_SENTINEL_KILLS:-5}" \
SCALE_SENTINEL_LANES="${SCALE_SENTINEL_LANES:-4}" \
SCALE_SENTINEL_PACE_MS="${SCALE_SENTINEL_PACE_MS:-30}" \
  npx jest test/scale/redis-sentinel.int-spec.ts
