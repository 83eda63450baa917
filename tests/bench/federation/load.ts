/**
 * A small closed-loop load generator over an undici Pool. Written here rather than taken
 * from autocannon because every request needs its own `authorization` header and every
 * response must be checked against the expected body; autocannon's request hooks and
 * per-response callbacks cost more CPU than the generator itself on a shared core.
 */
import { isDeepStrictEqual } from 'node:util';
import { Pool } from 'undici';

/** What one run of load measured. */
export interface LoadResult {
  requests: number;
  /** Responses that were not the expected one (status, errors or data). */
  failures: number;
  firstFailure?: string;
  seconds: number;
  rps: number;
  /** Latency quantiles, in milliseconds. */
  p50: number;
  p99: number;
  /** Every latency, in milliseconds, sorted. */
  latencies: number[];
}

/** Options of {@link runLoad}. */
export interface LoadOptions {
  /** Full URL of the GraphQL endpoint. */
  url: string;
  /** JSON request body, the same for every request. */
  body: string;
  /** Headers of the i-th request (each must differ, e.g. its authorization). */
  headers: (i: number) => Record<string, string>;
  connections: number;
  /** How long to keep sending, in milliseconds. */
  durationMs: number;
  /** The exact expected response body; a response that differs is parsed and compared. */
  expected: string;
}

/** Sends requests back to back on `connections` connections for `durationMs`. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const url = new URL(options.url);
  const pool = new Pool(url.origin, { connections: options.connections, pipelining: 1 });
  const expectedValue: unknown = JSON.parse(options.expected);
  const latencies: number[] = [];
  let failures = 0;
  let firstFailure: string | undefined;
  let counter = 0;
  const started = performance.now();
  const end = started + options.durationMs;

  const fail = (why: string) => {
    failures++;
    firstFailure ??= why.slice(0, 400);
  };
  async function loop() {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const res = await pool.request({
          path: url.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json', ...options.headers(counter++) },
          body: options.body,
        });
        const text = await res.body.text();
        latencies.push(performance.now() - t0);
        if (res.statusCode !== 200) fail(`status ${res.statusCode}: ${text}`);
        else if (text !== options.expected && !sameValue(text, expectedValue))
          fail(`wrong response: ${text}`);
      } catch (err) {
        fail(`request failed: ${(err as Error).message}`);
      }
    }
  }
  await Promise.all(Array.from({ length: options.connections }, loop));
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return {
    requests: latencies.length,
    failures,
    ...(firstFailure ? { firstFailure } : {}),
    seconds,
    rps: latencies.length / seconds,
    p50: at(0.5),
    p99: at(0.99),
    latencies,
  };
}

function sameValue(text: string, expected: unknown): boolean {
  try {
    return isDeepStrictEqual(JSON.parse(text), expected);
  } catch {
    return false;
  }
}
