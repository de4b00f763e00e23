// Test files run in parallel and each may start an api: its MLLP listener takes a free port, not the shared 2575.
process.env.MLLP_PORT ??= '0';
