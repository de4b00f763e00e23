// Test files run in parallel and each may start an api and workers: their listeners take free ports, not the
// shared 2575 (MLLP) and 9464 (worker metrics).
process.env.MLLP_PORT ??= '0';
process.env.METRICS_PORT ??= '0';
