// @ts-check
'use strict';
/**
 * Load generators against a loopback URL. Latencies are recorded per
 * response in fractional milliseconds: autocannon's own histogram keeps whole
 * milliseconds only (it floors 0.4 ms to 0), too coarse for a 5 ms target.
 */
const net = require('node:net');
// No type declarations ship with autocannon; the options used are documented in its README.
const autocannon = require('autocannon');

/**
 * Nearest-rank percentiles of a list of latencies in ms.
 * @param {number[]} values
 */
function summarise(values) {
  const sorted = Float64Array.from(values).sort();
  const at = (/** @type {number} */ p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN);
  const round = (/** @type {number} */ n) => Math.round(n * 1000) / 1000;
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    p50: round(at(50)),
    p90: round(at(90)),
    p99: round(at(99)),
    p999: round(at(99.9)),
    max: round(sorted.length ? sorted[sorted.length - 1] : NaN),
    mean: round(sorted.length ? sum / sorted.length : NaN),
  };
}

/**
 * One autocannon run. Pass exactly one of durationS or amount.
 * @param {{ url: string, connections: number, durationS?: number, amount?: number, overallRate?: number, headers?: Record<string, string> }} opts
 */
function runAutocannon(opts) {
  /** @type {number[]} */
  const latencies = [];
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: opts.url,
        connections: opts.connections,
        duration: opts.durationS ?? 60,
        amount: opts.amount,
        overallRate: opts.overallRate,
        timeout: 5,
        headers: opts.headers ?? {},
        // autocannon "corrects" rate-limited runs with an expected interval of
        // ceil(1 / rate) = 1 ms, which adds made-up samples; keep raw ones.
        ignoreCoordinatedOmission: opts.overallRate !== undefined,
      },
      (/** @type {Error | null} */ err, /** @type {any} */ result) => {
        if (err) return reject(err);
        const ok = result['2xx'];
        // autocannon's result.duration is whole seconds for an amount run; time it here.
        const seconds = (performance.now() - t0) / 1000;
        resolve({
          url: opts.url,
          connections: opts.connections,
          durationS: Math.round(seconds * 100) / 100,
          overallRate: opts.overallRate ?? null,
          requests: result.requests.total,
          ok,
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          reqPerSec: Math.round(ok / seconds),
          bytesPerResponse: ok ? Math.round(result.throughput.total / ok) : 0,
          latencyMs: summarise(latencies),
          // autocannon's own (whole-millisecond) view, for comparison.
          autocannonLatencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
        });
      },
    );
    instance.on('response', (/** @type {unknown} */ _client, /** @type {number} */ statusCode, /** @type {number} */ _bytes, /** @type {number} */ responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  });
}

/**
 * One keep-alive HTTP/1.1 connection that sends a GET and reads one response
 * at a time. Raw bytes rather than node:http, so the generator costs about as
 * little per request as autocannon does: on two cores it competes with the
 * agent for CPU. Only Content-Length responses (all the agent sends).
 * @param {URL} url
 * @param {Record<string, string>} headers
 */
function rawConnection(url, headers) {
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  const request = Buffer.from(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: keep-alive\r\n${extra}\r\n`);
  const socket = net.connect({ host: url.hostname, port: Number(url.port), noDelay: true });
  /** @type {null | { resolve: (status: number) => void, reject: (err: Error) => void }} */
  let pending = null;
  let buf = Buffer.alloc(0);
  let need = -1;
  let status = 0;
  const fail = (/** @type {Error} */ err) => {
    const p = pending;
    pending = null;
    p?.reject(err);
  };
  socket.on('data', (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    if (need < 0) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString('latin1');
      status = Number(head.slice(9, 12));
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      if (!m) return fail(new Error('response without Content-Length'));
      need = end + 4 + Number(m[1]);
    }
    if (buf.length < need) return;
    buf = buf.subarray(need);
    need = -1;
    const p = pending;
    pending = null;
    p?.resolve(status);
  });
  socket.on('error', fail);
  socket.on('close', () => fail(new Error('connection closed')));
  return {
    get busy() {
      return pending !== null;
    },
    /** @returns {Promise<number>} the status code */
    get() {
      return new Promise((resolve, reject) => {
        pending = { resolve, reject };
        socket.write(request);
      });
    },
    close: () => socket.destroy(),
  };
}

/**
 * An open-loop generator: request i is due at t0 + i / rate, evenly spaced,
 * whether or not earlier ones have answered. autocannon's overallRate is a
 * per-second budget that each connection spends back-to-back at the start of
 * every second, so it measures bursts; this measures the steady rate.
 * A due request goes out on an idle connection, or on a new one (up to
 * maxConnections), else it waits. Latency is reported from the moment a
 * request was due (includes any wait and generator lag: safe from
 * coordinated omission) and from when it was written.
 * @param {{ url: string, rate: number, durationS: number, maxConnections?: number, headers?: Record<string, string> }} opts
 */
function runPaced(opts) {
  const url = new URL(opts.url);
  const total = Math.round(opts.rate * opts.durationS);
  const maxConnections = opts.maxConnections ?? 32;
  /** @type {Array<ReturnType<typeof rawConnection>>} */
  const conns = [];
  /** @type {number[]} */ const fromDue = [];
  /** @type {number[]} */ const fromSent = [];
  /** @type {number[]} */ const waiting = []; // due times not yet sent
  let scheduled = 0;
  let done = 0;
  let errors = 0;
  let non2xx = 0;
  const intervalMs = 1000 / opts.rate;
  const t0 = performance.now() + 50;
  return new Promise((resolve) => {
    let finished = false;
    /** @type {NodeJS.Timeout | undefined} */
    let tickTimer;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(tickTimer);
      clearTimeout(hardStop);
      for (const c of conns) c.close();
      const elapsedS = (performance.now() - t0) / 1000;
      resolve({
        url: opts.url,
        rate: opts.rate,
        durationS: opts.durationS,
        requests: total,
        ok: fromDue.length,
        non2xx,
        errors,
        achievedReqPerSec: Math.round(fromDue.length / elapsedS),
        connectionsUsed: conns.length,
        latencyFromDueMs: summarise(fromDue),
        latencyFromSentMs: summarise(fromSent),
      });
    };
    const pump = () => {
      while (waiting.length) {
        let conn = conns.find((c) => !c.busy);
        if (!conn && conns.length < maxConnections) {
          conn = rawConnection(url, opts.headers ?? {});
          conns.push(conn);
        }
        if (!conn) return;
        const due = /** @type {number} */ (waiting.shift());
        const sentAt = performance.now();
        conn.get().then(
          (status) => {
            const end = performance.now();
            if (status >= 200 && status < 300) {
              fromDue.push(end - due);
              fromSent.push(end - sentAt);
            } else non2xx++;
          },
          () => {
            errors++;
            // A broken connection is dropped; later requests open another.
            conns.splice(conns.indexOf(/** @type {any} */ (conn)), 1);
          },
        ).finally(() => {
          done++;
          if (done === total) finish();
          else pump();
        });
      }
    };
    const tick = () => {
      const now = performance.now();
      while (scheduled < total && t0 + scheduled * intervalMs <= now) {
        waiting.push(t0 + scheduled * intervalMs);
        scheduled++;
      }
      pump();
      if (scheduled < total) tickTimer = setTimeout(tick, Math.max(0, t0 + scheduled * intervalMs - performance.now()));
    };
    tickTimer = setTimeout(tick, 50);
    // Bounded whatever happens: give up 30 s after the last request was due.
    const hardStop = setTimeout(finish, opts.durationS * 1000 + 30_000);
  });
}

module.exports = { runAutocannon, runPaced, summarise };
