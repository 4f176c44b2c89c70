import v8 from 'node:v8';

// Imported first by main.ts, before any other module loads. The agent's live
// heap is ~17 MB, but under request load V8's default 16 MB semi-spaces and
// lazy old-space growth left RSS at ~145 MB after 10,000 requests; with these
// two flags it stays near 80 MB at no measurable cost in throughput
// (bench/agent, BENCHMARKS.md). Passing them on the node command line works
// slightly better still (the launchers in scripts/ and deploy/ do).
v8.setFlagsFromString('--max-semi-space-size=1');
v8.setFlagsFromString('--optimize-for-size');
