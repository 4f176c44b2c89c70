import v8 from 'node:v8';

// Imported first by main.ts. The agent's live heap is ~17 MB; under request
// load V8 lets the old generation grow to ~4x that before collecting, which
// alone put RSS above 100 MB after 10,000 requests. Growing it by at most 50 %
// per collection keeps RSS under 80 MB for a few more short, mostly concurrent
// collections (p99 at 1,000 req/s stayed ~3 ms; bench/agent, BENCHMARKS.md).
// This flag is read at each collection, so it works from here; the young
// generation size, the V8 thread pool and glibc's arenas are fixed at process
// start and come from packages/agent/launch.json via the launchers.
// Not --optimize-for-size: it saved ~3 MB but more than doubled p99 (7-10 ms)
// as V8 then optimises less.
v8.setFlagsFromString('--heap-growing-percent=50');
