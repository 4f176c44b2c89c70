import net from 'node:net';
import request from 'supertest';
import { ContainerInfo, SessionList, StatusResponse } from '@viworks/protocol';
import { usageRefreshed } from '../src/sampling/containers';
import {
  containersOf,
  describeDocker,
  docker,
  execIn,
  httpGet,
  OPERATOR_KEY,
  removeSessionsOf,
  runTag,
  sessionAgent,
  TEST_IMAGE,
  testPolicy,
  VIEWER_KEY,
  type SessionAgent,
} from './containers.support';

const MiB = 1024 * 1024;
const op = { 'x-api-key': OPERATOR_KEY };

async function auditOf(agent: SessionAgent) {
  return (await agent.audit.page({ limit: 1000 })).entries;
}

describeDocker('session containers on a real Docker engine', () => {
  const agentId = runTag('lifecycle');
  const sid = (s: string) => `${agentId}-${s}`;
  let agent: SessionAgent;

  beforeAll(async () => {
    agent = await sessionAgent({ agentId, policy: testPolicy({ portPool: { kind: 'range', first: 21000, last: 21059 } }) });
  });
  afterAll(async () => {
    await removeSessionsOf(agentId);
    await agent?.close();
  });

  test('spawn → the published port answers on 127.0.0.1 → stop → start → delete; inspect shows the limits and hardening', async () => {
    const session = sid('life');
    const created = await request(agent.app)
      .post('/api/v1/containers')
      .set(op)
      .send({ username: 'alice', session_id: session, image: TEST_IMAGE, memory_mb: 48, cpu_shares: 300, pids_limit: 40, ports: [8080], env: { GREETING: 'hi' } });
    expect(created.status).toBe(201);
    const info = ContainerInfo.parse(created.body);
    expect(created.headers.location).toBe(`/api/v1/containers/${info.id}`);
    expect(info).toMatchObject({
      managed: true,
      username: 'alice',
      session_id: session,
      image: TEST_IMAGE,
      state: 'running',
      created_by: 'ops',
      stopped_at: null,
      limits: { memory_bytes: 48 * MiB, cpu_shares: 300, pids_limit: 40 },
    });
    expect(info.started_at).not.toBeNull();
    expect(info.ports).toHaveLength(1);
    const { host_port: port, host_ip, container_port } = info.ports[0]!;
    expect({ host_ip, container_port }).toEqual({ host_ip: '127.0.0.1', container_port: 8080 });
    expect(port).toBeGreaterThanOrEqual(21000);
    expect(port).toBeLessThanOrEqual(21059);

    // The session's own web server answers on the loopback port.
    expect(await httpGet(`http://127.0.0.1:${port}/`)).toEqual({ status: 200, body: 'viworks session\n' });

    // What the engine was told, and what the kernel enforces inside.
    const inspect = await docker().getContainer(info.id).inspect();
    expect(inspect.HostConfig).toMatchObject({
      Memory: 48 * MiB,
      MemorySwap: 48 * MiB,
      CpuShares: 300,
      PidsLimit: 40,
      Init: true,
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      Privileged: false,
      PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] },
    });
    expect(inspect.HostConfig.SecurityOpt).toContain('no-new-privileges:true');
    expect(inspect.Config.Labels).toMatchObject({
      'works.viworks.managed': 'true',
      'works.viworks.session-id': session,
      'works.viworks.username': 'alice',
      'works.viworks.created-by': 'ops',
      'works.viworks.agent-id': agentId,
    });
    expect(inspect.Config.Env).toContain('GREETING=hi');
    const status = await execIn(info.id, ['cat', '/proc/self/status']);
    expect(status.output).toMatch(/NoNewPrivs:\s+1/);
    expect(status.output).toMatch(/CapEff:\s+0000000000000000/);
    expect((await execIn(info.id, ['sh', '-c', 'echo x > /evil'])).exitCode).not.toBe(0); // read-only root
    expect((await execIn(info.id, ['sh', '-c', 'echo x > /tmp/ok'])).exitCode).toBe(0); // but /tmp is writable
    expect((await execIn(info.id, ['cat', '/proc/1/cmdline'])).output).toMatch(/docker-init/); // an init as PID 1

    // Listed by the API, and by /status from the background sampler with its memory and CPU.
    const list = SessionList.parse((await request(agent.app).get('/api/v1/containers').set(op).expect(200)).body);
    expect(list.containers.map((c) => c.session_id)).toContain(session);
    // Usage is refreshed in the background (the engine's stats take ~1 s): a sample
    // starts a refresh, the next one serves it; CPU % needs two readings.
    for (let i = 0; i < 3; i++) {
      await agent.sampler.sampleNow();
      await usageRefreshed(agent.engine);
    }
    const st = StatusResponse.parse((await request(agent.app).get('/api/v1/status').set(op).expect(200)).body);
    expect(st.docker).toEqual({ available: true, error: null });
    const sampled = st.containers.find((c) => c.id === info.id)!;
    expect(sampled).toMatchObject({ managed: true, session_id: session, state: 'running', limits: { memory_bytes: 48 * MiB } });
    expect(sampled.memory_bytes).toBeGreaterThan(0);
    expect(sampled.memory_bytes).toBeLessThan(48 * MiB);
    expect(typeof sampled.cpu_percent).toBe('number');

    // Stop: the port stops answering but stays held for the session.
    const stopped = await request(agent.app).post(`/api/v1/containers/${session}/stop`).set(op);
    expect(stopped.status).toBe(200);
    expect(stopped.body).toMatchObject({ id: info.id, state: 'exited', ports: [{ container_port: 8080, host_port: port, host_ip: '127.0.0.1' }] });
    expect(stopped.body.stopped_at).not.toBeNull();
    expect(await httpGet(`http://127.0.0.1:${port}/`)).toEqual({ error: 'ECONNREFUSED' });
    // Stopping again is harmless.
    expect((await request(agent.app).post(`/api/v1/containers/${info.id}/stop`).set(op)).status).toBe(200);

    // Start: back on the same port.
    const started = await request(agent.app).post(`/api/v1/containers/${info.id.slice(0, 12)}/start`).set(op);
    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({ state: 'running', stopped_at: null, ports: [{ host_port: port }] });
    expect(await httpGet(`http://127.0.0.1:${port}/`)).toMatchObject({ status: 200 });

    // Delete: gone from the engine and the list.
    expect((await request(agent.app).delete(`/api/v1/containers/${info.id}`).set(op)).body).toEqual({ id: info.id, session_id: session, removed: true });
    await expect(docker().getContainer(info.id).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect((await request(agent.app).get('/api/v1/containers').set(op)).body.containers.map((c: ContainerInfo) => c.id)).not.toContain(info.id);

    // Every action left a started and a completed entry, by the operator's key id.
    const trail = (await auditOf(agent)).filter((e) => e.action.startsWith('container.'));
    expect(trail.map((e) => [e.action, e.result, e.actor])).toEqual([
      ['container.create', 'started', 'ops'],
      ['container.create', 'completed', 'ops'],
      ['container.stop', 'started', 'ops'],
      ['container.stop', 'completed', 'ops'],
      ['container.stop', 'started', 'ops'],
      ['container.stop', 'completed', 'ops'],
      ['container.start', 'started', 'ops'],
      ['container.start', 'completed', 'ops'],
      ['container.remove', 'started', 'ops'],
      ['container.remove', 'completed', 'ops'],
    ]);
    expect(trail[0]!.detail).toMatch(/image viworks-test\/busybox:1, memory 48 MiB, cpu_shares 300, pids 40, ports \[8080\], env keys \[GREETING\], read-only root/);
    expect(trail[0]!.detail).not.toMatch(/hi\b/); // env values are not audited
    expect(trail[1]!.target).toBe(info.id);
    expect(trail[1]!.correlationId).toBe(trail[0]!.correlationId);
  }, 60_000);

  test('20 concurrent spawns get 20 distinct ports, each answering; cleanup with ttl 0 removes them all', async () => {
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        request(agent.app).post('/api/v1/containers').set(op).send({ username: `u${i}`, session_id: sid(`c${i}`), image: TEST_IMAGE, ports: [8080] }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(201));
    const ports = responses.map((r) => r.body.ports[0].host_port as number);
    expect(new Set(ports).size).toBe(20);
    const answers = await Promise.all(ports.map((p) => httpGet(`http://127.0.0.1:${p}/`, 5000)));
    expect(answers.every((a) => 'status' in a && a.status === 200)).toBe(true);
    // The engine agrees: 20 different host bindings.
    const bound = (await containersOf(agentId)).flatMap((c) => c.Ports.map((p) => p.PublicPort));
    expect(new Set(bound).size).toBe(20);

    const dry = await request(agent.app).post('/api/v1/containers/cleanup').set(op).send({ ttl_seconds: 0, dry_run: true });
    expect(dry.body).toMatchObject({ dry_run: true, kept: 0, failed: [] });
    expect(dry.body.removed).toHaveLength(20);
    expect(await containersOf(agentId)).toHaveLength(20);

    const cleaned = await request(agent.app).post('/api/v1/containers/cleanup').set(op).send({ ttl_seconds: 0 });
    expect(cleaned.status).toBe(200);
    expect(cleaned.body.removed).toHaveLength(20);
    expect(cleaned.body.removed.every((r: { reason: string }) => r.reason === 'ttl')).toBe(true);
    expect(await containersOf(agentId)).toHaveLength(0);
    const removals = (await auditOf(agent)).filter((e) => e.action === 'container.remove' && e.detail?.startsWith('cleanup: ttl'));
    expect(removals).toHaveLength(20);
  }, 120_000);

  describe('bad input: exact status and code, nothing created', () => {
    const base = () => ({ username: 'bob', image: TEST_IMAGE, ports: [8080] });

    let bad: SessionAgent;
    const badId = `${agentId}-bad`;
    beforeAll(async () => {
      bad = await sessionAgent({ agentId: badId, policy: testPolicy({ images: [TEST_IMAGE, 'viworks-test/absent:1'] }) });
    });
    afterAll(() => bad?.close());

    test.each<[string, number, string, Record<string, unknown>, RegExp]>([
      ['image not allow-listed', 400, 'image_not_allowed', { image: 'alpine:3' }, /image: "alpine:3" is not on the allow-list/],
      ['allow-listed image absent from the engine', 400, 'image_unavailable', { image: 'viworks-test/absent:1' }, /viworks-test\/absent:1.*not present on the Docker engine/],
      ['memory above the max', 400, 'limit_out_of_range', { memory_mb: 100_000 }, /^memory_mb: 100000 MiB is outside the allowed 16-512 MiB$/],
      ['pids limit below the floor', 400, 'limit_out_of_range', { pids_limit: 2 }, /^pids_limit: 2/],
      ['cpu shares above the max', 400, 'limit_out_of_range', { cpu_shares: 999_999 }, /^cpu_shares:/],
      ['a field the API does not have', 400, 'invalid_body', { privileged: true }, /privileged/],
      ['session id that is not a name', 400, 'invalid_body', { session_id: 'a/b' }, /^session_id:/],
    ])('%s → %i %s', async (_name, status, code, over, message) => {
      const before = (await auditOf(bad)).length;
      const res = await request(bad.app).post('/api/v1/containers').set(op).send({ ...base(), session_id: sid(`bad-${code}`), ...over });
      expect(res.status).toBe(status);
      expect(res.body.error.code).toBe(code);
      expect(res.body.error.message).toMatch(message);
      expect(await containersOf(badId)).toHaveLength(0);
      const trail = (await auditOf(bad)).slice(before);
      expect(trail.map((e) => [e.action, e.result])).toEqual(
        code === 'image_unavailable' ? [['container.create', 'started'], ['container.create', 'rejected']] : [['container.create', 'rejected']],
      );
      expect(trail.at(-1)!.detail).toMatch(new RegExp(`^${code}: `));
    });

    test('a duplicate session id → 409 session_exists; the first session is untouched', async () => {
      const session = sid('dup');
      const first = await request(agent.app).post('/api/v1/containers').set(op).send({ ...base(), session_id: session });
      expect(first.status).toBe(201);
      // Twice at once as well as after: exactly one wins.
      const again = await Promise.all([0, 1].map(() => request(agent.app).post('/api/v1/containers').set(op).send({ ...base(), session_id: session })));
      for (const r of again) {
        expect(r.status).toBe(409);
        expect(r.body.error).toEqual({ code: 'session_exists', message: `session_id: a session "${session}" already exists` });
      }
      const left = await containersOf(agentId);
      expect(left.map((c) => c.Id)).toEqual([first.body.id]);
      expect(left[0]!.State).toBe('running');
      await request(agent.app).delete(`/api/v1/containers/${session}`).set(op).expect(200);
    }, 60_000);

    test('port pool exhausted → 409 port_pool_exhausted; a port held by a host process is skipped', async () => {
      const tiny = `${agentId}-tiny`;
      // 21090 is taken by something outside Docker: the spawn must move on to 21091.
      const squatter = net.createServer();
      await new Promise<void>((r) => squatter.listen(21090, '127.0.0.1', r));
      const t = await sessionAgent({ agentId: tiny, policy: testPolicy({ portPool: { kind: 'range', first: 21090, last: 21092 } }) });
      try {
        const a = await request(t.app).post('/api/v1/containers').set(op).send({ ...base(), session_id: sid('tiny-a') });
        expect(a.status).toBe(201);
        expect(a.body.ports[0].host_port).toBe(21091);
        const b = await request(t.app).post('/api/v1/containers').set(op).send({ ...base(), session_id: sid('tiny-b') });
        expect(b.status).toBe(201);
        expect(b.body.ports[0].host_port).toBe(21092);
        const c = await request(t.app).post('/api/v1/containers').set(op).send({ ...base(), session_id: sid('tiny-c') });
        expect(c.status).toBe(409);
        expect(c.body.error.code).toBe('port_pool_exhausted');
        expect(c.body.error.message).toMatch(/^ports: 1 host port\(s\) needed, 0 free in the pool 21090-21092$/);
        expect((await containersOf(tiny)).map((x) => x.Labels['works.viworks.session-id']).sort()).toEqual([sid('tiny-a'), sid('tiny-b')]);
        // Two ports at once when one is free: refused whole, not half-given.
        await request(t.app).delete(`/api/v1/containers/${sid('tiny-b')}`).set(op).expect(200);
        const d = await request(t.app).post('/api/v1/containers').set(op).send({ ...base(), session_id: sid('tiny-d'), ports: [8080, 8081] });
        expect(d.status).toBe(409);
        expect(d.body.error.code).toBe('port_pool_exhausted');
        expect(await containersOf(tiny)).toHaveLength(1);
      } finally {
        squatter.close();
        await removeSessionsOf(tiny);
        await t.close();
      }
    }, 60_000);

    test('session limit → 409 session_limit', async () => {
      const few = `${agentId}-few`;
      const t = await sessionAgent({ agentId: few, policy: testPolicy({ maxSessions: 1, portPool: { kind: 'ephemeral' } }) });
      try {
        expect((await request(t.app).post('/api/v1/containers').set(op).send({ ...base(), session_id: sid('few-a') })).status).toBe(201);
        const r = await request(t.app).post('/api/v1/containers').set(op).send({ ...base(), session_id: sid('few-b') });
        expect(r.status).toBe(409);
        expect(r.body.error.code).toBe('session_limit');
        expect(await containersOf(few)).toHaveLength(1);
      } finally {
        await removeSessionsOf(few);
        await t.close();
      }
    }, 60_000);

    test('roles: no key → 401, viewer → 403 on every change but may list', async () => {
      const body = { ...base(), session_id: sid('roles') };
      expect((await request(agent.app).post('/api/v1/containers').send(body)).status).toBe(401);
      const viewer = await request(agent.app).post('/api/v1/containers').set('x-api-key', VIEWER_KEY).send(body);
      expect(viewer.status).toBe(403);
      expect(viewer.body.error.code).toBe('forbidden');
      for (const [method, url] of [
        ['post', '/api/v1/containers/x/stop'],
        ['post', '/api/v1/containers/x/start'],
        ['delete', '/api/v1/containers/x'],
        ['post', '/api/v1/containers/cleanup'],
      ] as const) {
        expect((await request(agent.app)[method](url).set('x-api-key', VIEWER_KEY)).status).toBe(403);
      }
      expect((await request(agent.app).get('/api/v1/containers').set('x-api-key', VIEWER_KEY)).status).toBe(200);
      expect(await containersOf(agentId)).toHaveLength(0);
    });

    test('unknown, foreign and malformed ids: 404, 403 not_managed, 400; the foreign container is untouched', async () => {
      const unknown = await request(agent.app).post('/api/v1/containers/no-such-session/stop').set(op);
      expect(unknown.status).toBe(404);
      expect(unknown.body.error.code).toBe('not_found');

      // A container the agent did not create (labelled only so afterAll can find it).
      const foreign = await docker().createContainer({ Image: TEST_IMAGE, Labels: { 'works.viworks.agent-id': agentId, 'works.viworks.test': 'foreign' } });
      try {
        for (const [method, url] of [
          ['post', `/api/v1/containers/${foreign.id}/stop`],
          ['delete', `/api/v1/containers/${foreign.id}`],
        ] as const) {
          const r = await request(agent.app)[method](url).set(op);
          expect(r.status).toBe(403);
          expect(r.body.error.code).toBe('not_managed');
        }
        await expect(foreign.inspect()).resolves.toMatchObject({ Id: foreign.id });
        // Another agent's session is not ours either.
        const other = await sessionAgent({ agentId: `${agentId}-other`, policy: testPolicy({ portPool: { kind: 'ephemeral' } }) });
        try {
          const theirs = await request(other.app).post('/api/v1/containers').set(op).send({ ...base(), session_id: sid('theirs') });
          expect(theirs.status).toBe(201);
          const r = await request(agent.app).delete(`/api/v1/containers/${theirs.body.id}`).set(op);
          expect(r.status).toBe(403);
          expect(r.body.error.message).toMatch(/belongs to agent ".*-other"/);
        } finally {
          await removeSessionsOf(`${agentId}-other`);
          await other.close();
        }
      } finally {
        await foreign.remove({ force: true });
      }
      const malformed = await request(agent.app).post('/api/v1/containers/..%2F..%2Fimages/stop').set(op);
      expect(malformed.status).toBe(400);
      expect(malformed.body.error.code).toBe('invalid_id');
      const rejected = (await auditOf(agent)).filter((e) => e.result === 'rejected' && e.action === 'container.stop');
      expect(rejected.map((e) => e.detail?.split(':')[0])).toEqual(expect.arrayContaining(['not_found', 'not_managed', 'invalid_id']));
    }, 60_000);
  });
});

// Needs no engine: it is about the engine being absent.
describe('Docker engine down', () => {
  let agent: SessionAgent;
  beforeAll(async () => {
    agent = await sessionAgent({ agentId: runTag('down'), socketPath: '/nonexistent/docker.sock' });
  });
  afterAll(() => agent?.close());

  test('container endpoints answer 503 docker_unavailable; /api/v1/status keeps working and says so', async () => {
    const spawn = await request(agent.app).post('/api/v1/containers').set(op).send({ username: 'a', session_id: 's1', image: TEST_IMAGE, ports: [8080] });
    expect(spawn.status).toBe(503);
    expect(spawn.body.error.code).toBe('docker_unavailable');
    expect(spawn.body.error.message).toMatch(/the Docker engine is not answering at \/nonexistent\/docker.sock \(ENOENT\)/);
    for (const [method, url] of [
      ['get', '/api/v1/containers'],
      ['post', '/api/v1/containers/s1/stop'],
      ['post', '/api/v1/containers/s1/start'],
      ['delete', '/api/v1/containers/s1'],
      ['post', '/api/v1/containers/cleanup'],
    ] as const) {
      const r = await request(agent.app)[method](url).set(op);
      expect([url, r.status, r.body.error?.code]).toEqual([url, 503, 'docker_unavailable']);
    }
    const status = await request(agent.app).get('/api/v1/status').set(op);
    expect(status.status).toBe(200);
    expect(status.body.docker.available).toBe(false);
    expect(status.body.docker.error).toMatch(/ENOENT/);
    expect(status.body.containers).toEqual([]);
    // Bad input is still bad input, engine or not.
    const bad = await request(agent.app).post('/api/v1/containers').set(op).send({ username: 'a', session_id: 's1', image: 'alpine:3' });
    expect(bad.status).toBe(400);
  });

  test('an audit log that cannot be written refuses the action before the engine is asked: 503 audit_unavailable', async () => {
    const mute = await sessionAgent({
      agentId: runTag('down'),
      socketPath: '/nonexistent/docker.sock',
      auditAppend: async () => {
        throw new Error('EIO: disk gone');
      },
    });
    try {
      const r = await request(mute.app).post('/api/v1/containers').set(op).send({ username: 'a', session_id: 's1', image: TEST_IMAGE });
      // audit_unavailable, not docker_unavailable: nothing reached the engine.
      expect(r.status).toBe(503);
      expect(r.body.error.code).toBe('audit_unavailable');
    } finally {
      await mute.close();
    }
  });
});
