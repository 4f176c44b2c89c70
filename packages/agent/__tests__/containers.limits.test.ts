import { execFile } from 'node:child_process';
import fs from 'node:fs';
import request from 'supertest';
import { describeDocker, docker, execIn, httpGet, OPERATOR_KEY, removeSessionsOf, runTag, sessionAgent, TEST_IMAGE, testPolicy, type SessionAgent } from './containers.support';

const op = { 'x-api-key': OPERATOR_KEY };

/** Where cgroup v1 with the cgroupfs driver keeps a container's counters; null elsewhere. */
function cgroupFile(controller: string, id: string, file: string): string | null {
  const p = `/sys/fs/cgroup/${controller}/docker/${id}/${file}`;
  return fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : null;
}

/** Samples how long the host takes to do ordinary things until stopped; returns the worst, in ms. */
function watchHost(agent: SessionAgent) {
  let stop = false;
  let worst = 0;
  let rounds = 0;
  const timed = async (fn: () => Promise<unknown>) => {
    const t = performance.now();
    await fn();
    worst = Math.max(worst, performance.now() - t);
  };
  const loop = (async () => {
    while (!stop) {
      await timed(() => request(agent.app).get('/api/v1/health').expect(200));
      await timed(() => new Promise<void>((resolve, reject) => execFile('/bin/true', (err) => (err ? reject(err) : resolve()))));
      await timed(() => docker().ping());
      rounds++;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    async done() {
      stop = true;
      await loop;
      return { worstMs: worst, rounds };
    },
  };
}

describeDocker('session limits hold on a real engine', () => {
  const agentId = runTag('limits');
  let agent: SessionAgent;

  beforeAll(async () => {
    agent = await sessionAgent({ agentId, policy: testPolicy({ portPool: { kind: 'range', first: 21100, last: 21149 } }) });
  });
  afterAll(async () => {
    await removeSessionsOf(agentId);
    await agent?.close();
  });

  const spawn = async (session: string, over: Record<string, unknown>) => {
    const r = await request(agent.app).post('/api/v1/containers').set(op).send({ username: 'mallory', session_id: `${agentId}-${session}`, image: TEST_IMAGE, ports: [8080], ...over });
    expect(r.status).toBe(201);
    return r.body as { id: string; ports: Array<{ host_port: number }> };
  };

  test('a fork bomb inside a session hits the pids limit; the host stays responsive and the session is removable', async () => {
    const s = await spawn('forkbomb', { pids_limit: 32 });
    const host = watchHost(agent);
    // Several waves: each doubles until fork fails at the limit, then collapses.
    const bomb = await execIn(s.id, ['sh', '-c', 'i=0; while [ $i -lt 5 ]; do sh -c "b(){ b & b & wait; }; b" 2>&1; i=$((i+1)); done'], 60_000);
    const { worstMs, rounds } = await host.done();

    expect(bomb.output).toMatch(/can't fork: Resource temporarily unavailable/);
    const events = cgroupFile('pids', s.id, 'pids.events');
    if (events !== null) expect(Number(/max (\d+)/.exec(events)?.[1])).toBeGreaterThan(0); // forks refused by the limit
    const stats = await docker().getContainer(s.id).stats({ stream: false, 'one-shot': true });
    expect(stats.pids_stats?.limit).toBe(32);
    expect(stats.pids_stats?.current ?? 0).toBeLessThanOrEqual(32);

    // The host never stalled: agent API, process creation and the engine all answered promptly.
    expect(rounds).toBeGreaterThan(0);
    expect(worstMs).toBeLessThan(2000);
    // The bomb was contained: the session's own server still answers, and it stops and goes on request.
    expect(await httpGet(`http://127.0.0.1:${s.ports[0]!.host_port}/`)).toMatchObject({ status: 200 });
    const t = performance.now();
    await request(agent.app).delete(`/api/v1/containers/${s.id}`).set(op).expect(200);
    expect(performance.now() - t).toBeLessThan(10_000);
  }, 90_000);

  test('a memory hog is OOM-killed inside its container only', async () => {
    const [hog, neighbour] = await Promise.all([spawn('hog', { memory_mb: 32 }), spawn('neighbour', { memory_mb: 32 })]);
    const since = Math.floor(Date.now() / 1000) - 1;
    const host = watchHost(agent);
    const agentRssBefore = process.memoryUsage().rss;
    // tail keeps the whole newline-less "line" in memory and never ends: one process,
    // the only one allocating, so the kernel has exactly one obvious victim. (With a
    // second allocator in the cgroup, e.g. `head | tail`, the kernel can pick a second
    // victim before the first one's memory is reaped: still inside the container.)
    const r = await execIn(hog.id, ['tail', '/dev/zero'], 60_000);
    const { worstMs } = await host.done();

    expect(r.exitCode).toBe(137); // SIGKILL from the OOM killer
    const events = await new Promise<string>((resolve, reject) =>
      docker().getEvents({ since, until: Math.ceil(Date.now() / 1000) + 1, filters: { event: ['oom'] } }, (err, stream) => {
        if (err || !stream) return reject(err);
        let text = '';
        stream.on('data', (b: Buffer) => (text += b.toString()));
        stream.on('end', () => resolve(text));
      }),
    );
    const oomIds = events.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: string }).id);
    expect(oomIds).toContain(hog.id);
    expect(oomIds).not.toContain(neighbour.id);
    const oomControl = cgroupFile('memory', hog.id, 'memory.oom_control');
    if (oomControl !== null) expect(Number(/oom_kill (\d+)/.exec(oomControl)?.[1])).toBeGreaterThan(0);

    // Only the hog died: the session itself, its neighbour and the host carry on.
    const inspect = await docker().getContainer(hog.id).inspect();
    expect(inspect.State.Running).toBe(true);
    expect(await httpGet(`http://127.0.0.1:${hog.ports[0]!.host_port}/`)).toMatchObject({ status: 200 });
    expect(await httpGet(`http://127.0.0.1:${neighbour.ports[0]!.host_port}/`)).toMatchObject({ status: 200 });
    expect(worstMs).toBeLessThan(2000);
    expect(process.memoryUsage().rss - agentRssBefore).toBeLessThan(100 * 1024 * 1024);
    const stats = await docker().getContainer(hog.id).stats({ stream: false, 'one-shot': true });
    expect(stats.memory_stats.limit).toBe(32 * 1024 * 1024);
  }, 90_000);
});
