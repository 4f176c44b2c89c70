import { allocatePorts, freePorts } from '../src/containers/allocatePorts';
import { buildCreateOptions } from '../src/containers/buildCreateOptions';
import { parseCapabilities, parseImageList, parsePortPool, type PortPool, type SessionPolicy } from '../src/containers/policy';
import { selectExpired, type SessionTimes } from '../src/containers/selectExpired';
import { SessionError } from '../src/containers/sessionError';
import { validateSessionRequest } from '../src/containers/validateSessionRequest';
import { ConfigError, loadConfig } from '../src/config';

const range = (first: number, last: number): PortPool => ({ kind: 'range', first, last });

describe('allocatePorts', () => {
  test.each<[string, PortPool, number[], number, number | undefined, number[] | null, number | undefined]>([
    ['first free from the start', range(100, 104), [], 2, undefined, [100, 101], 102],
    ['skips used ports', range(100, 104), [100, 102], 2, undefined, [101, 103], 104],
    ['continues after the last handed out', range(100, 104), [], 1, 103, [103], 104],
    ['wraps round to the start', range(100, 104), [], 2, 104, [104, 100], 101],
    ['next wraps when the last port is taken', range(100, 104), [], 1, 104, [104], 100],
    ['a `from` outside the pool starts at the start', range(100, 104), [], 1, 7, [100], 101],
    ['exactly the free ports', range(100, 102), [101], 2, undefined, [100, 102], 100],
    ['exhausted: null', range(100, 102), [100, 101, 102], 1, undefined, null, undefined],
    ['not enough for all: null, never a partial set', range(100, 102), [101], 3, undefined, null, undefined],
    ['zero ports asked: none', range(100, 102), [], 0, undefined, [], 100],
    ['ephemeral: zeros, Docker picks', { kind: 'ephemeral' }, [1, 2], 2, undefined, [0, 0], 0],
  ])('%s', (_name, pool, used, count, from, ports, next) => {
    const got = allocatePorts(pool, new Set(used), count, from);
    if (ports === null) expect(got).toBeNull();
    else expect(got).toEqual({ ports, next });
  });

  test('20 allocations in a row from a 20-port pool are all distinct, the 21st fails', () => {
    const used = new Set<number>();
    let from: number | undefined;
    for (let i = 0; i < 20; i++) {
      const got = allocatePorts(range(30000, 30019), used, 1, from)!;
      expect(used.has(got.ports[0]!)).toBe(false);
      used.add(got.ports[0]!);
      from = got.next;
    }
    expect(used.size).toBe(20);
    expect(allocatePorts(range(30000, 30019), used, 1, from)).toBeNull();
    expect(freePorts(range(30000, 30019), used)).toBe(0);
  });
});

const policy = (over: Partial<SessionPolicy> = {}): SessionPolicy => ({
  images: ['viworks/shell:1', 'viworks/desktop:2'],
  writableImages: ['viworks/desktop:2'],
  bindIp: '127.0.0.1',
  portPool: range(20000, 20003),
  memoryMb: { min: 16, max: 1024, default: 256 },
  cpuShares: { min: 2, max: 1024, default: 512 },
  pidsLimit: { min: 8, max: 512, default: 128 },
  maxSessions: 10,
  ttlSeconds: 3600,
  exitedTtlSeconds: 600,
  cleanupIntervalSeconds: 0,
  capAdd: [],
  user: null,
  tmpfsMb: 64,
  stopTimeoutSeconds: 5,
  ...over,
});

const good = { username: 'alice', session_id: 'sess-1', image: 'viworks/shell:1' };

describe('validateSessionRequest', () => {
  test('defaults come from the policy; ports sorted; read-only root unless the image is writable', () => {
    expect(validateSessionRequest({ ...good, ports: [9000, 8080] }, policy())).toEqual({
      username: 'alice',
      sessionId: 'sess-1',
      image: 'viworks/shell:1',
      memoryBytes: 256 * 1024 * 1024,
      cpuShares: 512,
      pidsLimit: 128,
      ports: [8080, 9000],
      env: {},
      readOnlyRoot: true,
    });
    expect(validateSessionRequest({ ...good, image: 'viworks/desktop:2' }, policy()).readOnlyRoot).toBe(false);
  });

  test.each<[string, Record<string, unknown>, string, RegExp]>([
    ['image not on the list', { ...good, image: 'alpine:3' }, 'image_not_allowed', /image: "alpine:3" is not on the allow-list; allowed: viworks\/shell:1/],
    ['tag differs', { ...good, image: 'viworks/shell:latest' }, 'image_not_allowed', /not on the allow-list/],
    ['memory above max', { ...good, memory_mb: 4096 }, 'limit_out_of_range', /^memory_mb: 4096 MiB is outside the allowed 16-1024 MiB$/],
    ['memory below floor', { ...good, memory_mb: 4 }, 'limit_out_of_range', /memory_mb: 4 MiB/],
    ['cpu shares above max', { ...good, cpu_shares: 5000 }, 'limit_out_of_range', /^cpu_shares: 5000 is outside the allowed 2-1024$/],
    ['pids below floor', { ...good, pids_limit: 1 }, 'limit_out_of_range', /^pids_limit: 1 is outside the allowed 8-512$/],
    ['pids unlimited (-1) refused', { ...good, pids_limit: -1 }, 'limit_out_of_range', /pids_limit/],
    ['fractional memory', { ...good, memory_mb: 1.5 }, 'invalid_body', /memory_mb: must be a whole number/],
    ['more ports than the pool', { ...good, ports: [1, 2, 3, 4, 5] }, 'limit_out_of_range', /ports: 5 ports asked for, the pool holds only 4/],
    ['port listed twice', { ...good, ports: [80, 80] }, 'invalid_body', /listed twice/],
    ['port out of range', { ...good, ports: [70000] }, 'invalid_body', /^ports\.0:/],
    ['missing username', { session_id: 's', image: 'viworks/shell:1' }, 'invalid_body', /^username:/],
    ['session id with a slash', { ...good, session_id: '../x' }, 'invalid_body', /^session_id: must be 1-64 characters/],
    ['unknown field', { ...good, privileged: true }, 'invalid_body', /privileged/],
    ['env name with a space', { ...good, env: { 'A B': 'x' } }, 'invalid_body', /^env\.A B/],
    ['env value with NUL', { ...good, env: { A: 'x\u0000y' } }, 'invalid_body', /env\.A: must not hold NUL/],
    ['not an object', [] as unknown as Record<string, unknown>, 'invalid_body', /body/],
  ])('%s → 400 %s', (_name, body, code, message) => {
    let caught: unknown;
    try {
      validateSessionRequest(body, policy());
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SessionError);
    expect(caught).toMatchObject({ status: 400, code });
    expect((caught as Error).message).toMatch(message);
  });
});

test('with no allow-list at all, every image is refused and the message says why', () => {
  expect(() => validateSessionRequest(good, policy({ images: [] }))).toThrow(/no image is allow-listed \(AGENT_SESSION_IMAGES is empty\)/);
});

describe('selectExpired', () => {
  const now = new Date('2026-01-01T12:00:00Z');
  const ago = (s: number) => new Date(now.getTime() - s * 1000);
  const s = (id: string, state: string, createdS: number, startedS: number | null, finishedS: number | null): SessionTimes => ({
    id,
    sessionId: id,
    state,
    createdAt: ago(createdS),
    startedAt: startedS === null ? null : ago(startedS),
    finishedAt: finishedS === null ? null : ago(finishedS),
  });
  const rules = { ttlMs: 3600_000, exitedTtlMs: 600_000, removeUnstarted: false };

  test.each<[string, SessionTimes, typeof rules, string | null]>([
    ['running, young: kept', s('a', 'running', 60, 60, null), rules, null],
    ['running past the TTL: removed', s('a', 'running', 3600, 3600, null), rules, 'ttl'],
    ['running just under the TTL: kept', s('a', 'running', 3599, 3599, null), rules, null],
    ['exited recently: kept', s('a', 'exited', 1200, 1200, 300), rules, null],
    ['exited past the exited TTL: removed', s('a', 'exited', 1200, 1200, 600), rules, 'exited_ttl'],
    ['dead past the exited TTL: removed', s('a', 'dead', 1200, 1200, 700), rules, 'exited_ttl'],
    ['restarted after a stop: running, kept', s('a', 'running', 1200, 100, 700), rules, null],
    ['paused and old: ttl', s('a', 'paused', 4000, 4000, null), rules, 'ttl'],
    ['being removed: left alone', s('a', 'removing', 9999, 9999, 9999), rules, null],
    ['created, never started, young: kept normally', s('a', 'created', 10, null, null), rules, null],
    ['created, never started, at agent start: removed', s('a', 'created', 10, null, null), { ...rules, removeUnstarted: true }, 'unstarted'],
    ['created, never started, old: counts from creation', s('a', 'created', 700, null, null), rules, 'exited_ttl'],
    ['zero TTL removes everything', s('a', 'running', 0, 0, null), { ...rules, ttlMs: 0 }, 'ttl'],
  ])('%s', (_name, session, r, reason) => {
    const out = selectExpired([session], r, now);
    expect(out.map((o) => o.reason)).toEqual(reason ? [reason] : []);
  });
});

describe('buildCreateOptions', () => {
  const spec = validateSessionRequest({ ...good, ports: [8080, 9000], env: { LANG: 'C' }, memory_mb: 100, pids_limit: 50 }, policy());

  test('hardened by default, labelled, bound to the session interface', () => {
    const o = buildCreateOptions(spec, [20001, 20002], policy(), { agentId: 'a1', createdBy: 'ops' });
    expect(o.name).toBe('viworks-session-sess-1');
    expect(o.Env).toEqual(['LANG=C']);
    expect(o.Labels).toEqual({
      'works.viworks.managed': 'true',
      'works.viworks.username': 'alice',
      'works.viworks.session-id': 'sess-1',
      'works.viworks.created-by': 'ops',
      'works.viworks.agent-id': 'a1',
      'works.viworks.host-ports': '20001,20002',
    });
    expect(o.HostConfig).toMatchObject({
      Memory: 100 * 1024 * 1024,
      MemorySwap: 100 * 1024 * 1024,
      CpuShares: 512,
      PidsLimit: 50,
      Init: true,
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=64m' },
      CapDrop: ['ALL'],
      CapAdd: [],
      SecurityOpt: ['no-new-privileges:true'],
      Privileged: false,
      RestartPolicy: { Name: 'no' },
      PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '20001' }], '9000/tcp': [{ HostIp: '127.0.0.1', HostPort: '20002' }] },
    });
    expect(o.User).toBeUndefined();
  });

  test('writable image: no read-only root, no tmpfs; configured caps and user; ephemeral ports', () => {
    const w = validateSessionRequest({ ...good, image: 'viworks/desktop:2', ports: [5900] }, policy());
    const o = buildCreateOptions(w, [0], policy({ capAdd: ['NET_BIND_SERVICE'], user: '1000:1000' }), { agentId: 'a1', createdBy: 'ops' });
    expect(o.HostConfig).toMatchObject({ ReadonlyRootfs: false, CapDrop: ['ALL'], CapAdd: ['NET_BIND_SERVICE'], PortBindings: { '5900/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } });
    expect(o.HostConfig!.Tmpfs).toBeUndefined();
    expect(o.User).toBe('1000:1000');
    expect(o.Labels!['works.viworks.host-ports']).toBe('');
  });
});

describe('policy parsing', () => {
  test.each([
    ['20000-20999', { kind: 'range', first: 20000, last: 20999 }],
    [' 30000 - 30001 ', { kind: 'range', first: 30000, last: 30001 }],
    ['ephemeral', { kind: 'ephemeral' }],
  ])('port pool %j', (raw, pool) => expect(parsePortPool(raw)).toEqual(pool));

  test.each([
    ['80-90', /within 1024-65535/],
    ['30001-30000', /starts after it ends/],
    ['20000', /neither FIRST-LAST/],
    ['lots', /neither FIRST-LAST/],
  ])('port pool %j is refused', (raw, message) => expect(() => parsePortPool(raw)).toThrow(message));

  test('image list and capabilities', () => {
    expect(parseImageList(' a/b:1 ,c:2,, a/b:1')).toEqual(['a/b:1', 'c:2']);
    expect(() => parseImageList('a/*')).toThrow(/not an image reference/);
    expect(parseCapabilities('net_bind_service, CAP_CHOWN')).toEqual(['NET_BIND_SERVICE', 'CHOWN']);
    expect(() => parseCapabilities('ROOT')).toThrow(/unknown capability "ROOT"/);
  });
});

describe('AGENT_SESSION_* config', () => {
  test('defaults', () => {
    expect(loadConfig({}).sessions).toEqual({
      images: [],
      writableImages: [],
      bindIp: '127.0.0.1',
      portPool: { kind: 'range', first: 20000, last: 20999 },
      memoryMb: { min: 16, max: 2048, default: 256 },
      cpuShares: { min: 2, max: 1024, default: 512 },
      pidsLimit: { min: 8, max: 1024, default: 128 },
      maxSessions: 50,
      ttlSeconds: 86400,
      exitedTtlSeconds: 3600,
      cleanupIntervalSeconds: 300,
      capAdd: [],
      user: null,
      tmpfsMb: 64,
      stopTimeoutSeconds: 10,
    });
    expect(Object.isFrozen(loadConfig({}).sessions)).toBe(true);
  });

  test('a full set', () => {
    const c = loadConfig({
      AGENT_SESSION_IMAGES: 'viworks/shell:1,viworks/desktop:2',
      AGENT_SESSION_WRITABLE_IMAGES: 'viworks/desktop:2',
      AGENT_SESSION_BIND_IP: '10.0.0.5',
      AGENT_SESSION_PORT_RANGE: 'ephemeral',
      AGENT_SESSION_CAP_ADD: 'NET_BIND_SERVICE',
      AGENT_SESSION_USER: '1000:1000',
      AGENT_SESSION_PIDS_DEFAULT: '64',
    }).sessions;
    expect(c).toMatchObject({ images: ['viworks/shell:1', 'viworks/desktop:2'], bindIp: '10.0.0.5', portPool: { kind: 'ephemeral' }, capAdd: ['NET_BIND_SERVICE'], user: '1000:1000' });
    expect(c.pidsLimit.default).toBe(64);
  });

  test.each([
    [{ AGENT_SESSION_BIND_IP: 'localhost' }, /AGENT_SESSION_BIND_IP: must be an IP address/],
    [{ AGENT_SESSION_PORT_RANGE: '1-2' }, /AGENT_SESSION_PORT_RANGE: 1-2 must lie within/],
    [{ AGENT_SESSION_IMAGES: 'a b' }, /AGENT_SESSION_IMAGES: "a b" is not an image reference/],
    [{ AGENT_SESSION_WRITABLE_IMAGES: 'x:1' }, /AGENT_SESSION_WRITABLE_IMAGES: "x:1" is not in AGENT_SESSION_IMAGES/],
    [{ AGENT_SESSION_MEMORY_MB_DEFAULT: '4096' }, /AGENT_SESSION_MEMORY_MB_DEFAULT: 4096 is above AGENT_SESSION_MEMORY_MB_MAX \(2048\)/],
    [{ AGENT_SESSION_PIDS_MAX: '2' }, /AGENT_SESSION_PIDS_MAX/],
    [{ AGENT_SESSION_CAP_ADD: 'GODMODE' }, /AGENT_SESSION_CAP_ADD: unknown capability "GODMODE"/],
    [{ AGENT_SESSION_USER: 'root;rm' }, /AGENT_SESSION_USER/],
    [{ AGENT_SESSION_TTL_SECONDS: '0' }, /AGENT_SESSION_TTL_SECONDS/],
  ])('%j fails start-up naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
