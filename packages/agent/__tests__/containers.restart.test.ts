import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hashKey } from '../src/security/keyStore';
import { containersOf, describeDocker, docker, httpGet, OPERATOR_KEY, removeSessionsOf, runTag, TEST_IMAGE } from './containers.support';

const MAIN = path.join(__dirname, '..', 'dist', 'main.js');
// Long enough that the young session (spawned 5 s after the old one) stays well under it
// however slowly the agent restarts; short enough to keep the test quick.
const TTL_SECONDS = 12;

interface RunningAgent {
  child: ChildProcess;
  url: string;
  log: () => string;
}

/** The compiled agent as a real process; resolves once it listens. */
function startAgent(env: NodeJS.ProcessEnv): Promise<RunningAgent> {
  const child = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`agent did not listen within 20 s:\n${out}`)), 20_000);
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /viworks-agent listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, log: () => out });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`agent exited with ${code} before listening:\n${out}`));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeDocker('agent killed mid-session and restarted', () => {
  const agentId = runTag('restart');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'viworks-restart-'));
  const agents: ChildProcess[] = [];
  let env: NodeJS.ProcessEnv;

  beforeAll(() => {
    if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npx tsc -b)`);
    const keys = path.join(dir, 'keys.json');
    fs.writeFileSync(keys, JSON.stringify({ keys: [{ id: 'ops', role: 'operator', hash: hashKey(OPERATOR_KEY) }] }), { mode: 0o600 });
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AGENT_')));
    env = {
      ...inherited,
      AGENT_ID: agentId,
      AGENT_HOST: '127.0.0.1',
      AGENT_PORT: '0',
      AGENT_KEYS_FILE: keys,
      AGENT_DATA_DIR: dir,
      AGENT_SAMPLE_INTERVAL_MS: '60000',
      AGENT_SESSION_IMAGES: TEST_IMAGE,
      AGENT_SESSION_PORT_RANGE: '21150-21199',
      AGENT_SESSION_TTL_SECONDS: String(TTL_SECONDS),
      AGENT_SESSION_EXITED_TTL_SECONDS: '3600',
      // Only the start-up cleanup acts in this test.
      AGENT_SESSION_CLEANUP_INTERVAL_SECONDS: '0',
    };
  });
  afterAll(async () => {
    for (const a of agents) if (a.exitCode === null && a.signalCode === null) a.kill('SIGKILL');
    await removeSessionsOf(agentId);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('after kill -9 and a restart, sessions past the TTL and never-started leftovers are removed, the others kept and still serving', async () => {
    const first = await startAgent(env);
    agents.push(first.child);
    const api = (url: string, method: string, p: string, body?: unknown) =>
      fetch(`${url}${p}`, { method, headers: { 'x-api-key': OPERATOR_KEY, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const spawnSession = async (url: string, s: string) => {
      const r = await api(url, 'POST', '/api/v1/containers', { username: 'carol', session_id: `${agentId}-${s}`, image: TEST_IMAGE, ports: [8080] });
      expect(r.status).toBe(201);
      return (await r.json()) as { id: string; ports: Array<{ host_port: number }>; created_at: string };
    };

    const old = await spawnSession(first.url, 'old');
    await sleep(5000);
    const [young, parked] = await Promise.all([spawnSession(first.url, 'young'), spawnSession(first.url, 'parked')]);
    expect((await api(first.url, 'POST', `/api/v1/containers/${parked.id}/stop`)).status).toBe(200);
    // What a crash between create and start leaves: a labelled container that never ran.
    const leftover = await docker().createContainer({
      Image: TEST_IMAGE,
      name: `viworks-session-${agentId}-leftover`,
      Labels: { 'works.viworks.managed': 'true', 'works.viworks.agent-id': agentId, 'works.viworks.session-id': `${agentId}-leftover`, 'works.viworks.username': 'carol' },
    });

    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    expect(first.child.signalCode).toBe('SIGKILL');
    // Sessions do not depend on the agent: still serving while it is dead.
    expect(await httpGet(`http://127.0.0.1:${young.ports[0]!.host_port}/`)).toMatchObject({ status: 200 });
    await expect(docker().getContainer(leftover.id).inspect()).resolves.toMatchObject({ State: { Status: 'created' } });

    // Restart once the old session is past its TTL (the young one is far from it).
    const oldAge = Date.now() - Date.parse(old.created_at);
    await sleep(Math.max(0, TTL_SECONDS * 1000 + 500 - oldAge));
    const second = await startAgent(env);
    agents.push(second.child);

    const left = await containersOf(agentId);
    expect(left.map((c) => c.Id).sort()).toEqual([young.id, parked.id].sort());
    expect(left.find((c) => c.Id === young.id)!.State).toBe('running');
    expect(left.find((c) => c.Id === parked.id)!.State).toBe('exited');
    expect(await httpGet(`http://127.0.0.1:${young.ports[0]!.host_port}/`)).toMatchObject({ status: 200 });
    expect(await httpGet(`http://127.0.0.1:${old.ports[0]!.host_port}/`)).toEqual({ error: 'ECONNREFUSED' });
    // The restarted agent manages what it kept.
    const listed = (await (await api(second.url, 'GET', '/api/v1/containers')).json()) as { containers: Array<{ id: string }> };
    expect(listed.containers.map((c) => c.id).sort()).toEqual([young.id, parked.id].sort());

    // The removals are in the audit log, by the agent itself, with the reason.
    const entries = fs
      .readFileSync(path.join(dir, 'audit', 'audit.log'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"container.'))
      .map((l) => JSON.parse(l) as { action: string; actor: string; target: string; detail: string; result: string });
    const byAgent = entries.filter((e) => e.actor === 'agent' && e.action === 'container.remove');
    expect(byAgent.map((e) => [e.target, e.detail.split(';')[0]]).sort()).toEqual(
      [
        [old.id, 'cleanup: ttl'],
        [leftover.id, 'cleanup: unstarted'],
      ].sort(),
    );

    // And it shuts down cleanly when asked.
    second.child.kill('SIGTERM');
    const code = await new Promise((r) => second.child.once('exit', r));
    expect(code).toBe(0);
  }, 90_000);
});
