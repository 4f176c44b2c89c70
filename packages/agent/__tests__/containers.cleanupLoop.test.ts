import pino from 'pino';
import type { CleanupResult } from '@viworks/protocol';
import { cleanupAndAudit, startCleanupLoop } from '../src/containers/cleanupLoop';
import { SessionError } from '../src/containers/sessionError';
import type { CleanupOptions, SessionManager } from '../src/containers/sessionManager';
import type { AuditEntryInput } from '../src/audit/auditLog';

const silent = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A manager whose cleanup is scripted; everything else is unused here. */
function scripted(run: (opts: CleanupOptions) => Promise<CleanupResult>) {
  const calls: CleanupOptions[] = [];
  const manager = {
    cleanup: async (opts: CleanupOptions = {}) => {
      calls.push(opts);
      return run(opts);
    },
  } as unknown as SessionManager;
  return { manager, calls };
}

const result = (over: Partial<CleanupResult> = {}): CleanupResult => ({ removed: [], kept: 0, failed: [], dry_run: false, ...over });

test('cleanupAndAudit: one entry per removal and per failure, one for the run, all correlated', async () => {
  const entries: AuditEntryInput[] = [];
  const { manager } = scripted(async () =>
    result({ removed: [{ id: 'c1', session_id: 's1', reason: 'ttl' }], failed: [{ id: 'c2', error: 'boom' }], kept: 3 }),
  );
  await cleanupAndAudit(manager, { append: async (e) => entries.push(e) }, { actor: 'agent', ip: '' }, {}, 'corr-1');
  expect(entries.map((e) => [e.action, e.result, e.target ?? null, e.detail])).toEqual([
    ['container.remove', 'completed', 'c1', 'cleanup: ttl; session s1'],
    ['container.remove', 'failed', 'c2', 'cleanup: boom'],
    ['container.cleanup', 'failed', null, 'removed 1, kept 3, failed 1'],
  ]);
  expect(entries.every((e) => e.correlationId === 'corr-1')).toBe(true);
});

test('a dry run audits only the run itself', async () => {
  const entries: AuditEntryInput[] = [];
  const { manager } = scripted(async () => result({ removed: [{ id: 'c1', session_id: 's1', reason: 'ttl' }], dry_run: true }));
  await cleanupAndAudit(manager, { append: async (e) => entries.push(e) }, { actor: 'ops', ip: '127.0.0.1' }, { dryRun: true });
  expect(entries.map((e) => [e.action, e.detail])).toEqual([['container.cleanup', 'dry run: would remove 1, kept 0, failed 0']]);
});

test('auditIdle false: a run that changed nothing leaves no entry', async () => {
  const entries: AuditEntryInput[] = [];
  const { manager } = scripted(async () => result({ kept: 4 }));
  await cleanupAndAudit(manager, { append: async (e) => entries.push(e) }, { actor: 'agent', ip: '' }, {}, 'c', false);
  expect(entries).toEqual([]);
  await cleanupAndAudit(manager, { append: async (e) => entries.push(e) }, { actor: 'agent', ip: '' }, {}, 'c', true);
  expect(entries.map((e) => e.detail)).toEqual(['removed 0, kept 4, failed 0']);
});

test('the loop runs on its interval, never overlaps, survives failures, and stop() waits for the run in flight', async () => {
  let inFlight = 0;
  let maxInFlight = 0;
  let n = 0;
  let finished = 0;
  const { manager, calls } = scripted(async () => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    n++;
    try {
      await sleep(60); // slower than the interval
      if (n === 1) throw new SessionError(503, 'docker_unavailable', 'engine down');
      if (n === 2) throw new Error('something else');
      return result();
    } finally {
      inFlight--;
      finished++;
    }
  });
  const loop = startCleanupLoop(manager, { append: async () => undefined }, 20, silent);
  await sleep(400);
  await loop.stop();
  const atStop = calls.length;
  expect(atStop).toBeGreaterThanOrEqual(3); // kept going after both failures
  expect(maxInFlight).toBe(1);
  expect(finished).toBe(atStop); // nothing left running after stop()
  await sleep(100);
  expect(calls.length).toBe(atStop); // and nothing started after it
  expect(calls[0]).toEqual({});
});

test('interval 0: no loop at all', async () => {
  const { manager, calls } = scripted(async () => result());
  const loop = startCleanupLoop(manager, { append: async () => undefined }, 0, silent);
  await sleep(50);
  await loop.stop();
  expect(calls).toHaveLength(0);
});
