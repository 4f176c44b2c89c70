import pino from 'pino';
import request from 'supertest';
import {
  describeDocker,
  OPERATOR_KEY,
  removeSessionsOf,
  runTag,
  sessionAgent,
  TEST_IMAGE,
  testPolicy,
  VIEWER_KEY,
  type SessionAgent,
} from '../../agent/__tests__/containers.support';
import { createCollector, type Collector } from '../src/createCollector';
import { createPgTestDb, describePg, type TestDb } from '../../../test/testDb';
import { baseConfig, listen } from './helpers';

const silent = pino({ level: 'silent' });
const op = { 'x-api-key': OPERATOR_KEY };

interface Row {
  container_id: string;
  username: string | null;
  session_id: string | null;
  port: number | null;
  status: string;
  managed: boolean;
  created_at: Date;
  first_seen_at: Date;
  last_seen_at: Date;
  stopped_at: Date | null;
}

// A real agent over the real engine, polled over HTTP (with a viewer key) by a
// real collector writing to PostgreSQL, through one session's whole life.
describePg('container_sessions across a session’s life', () => {
  describeDocker('agent on a real Docker engine → collector 5 min tier → PostgreSQL', () => {
    const agentId = runTag('collected');
    let t: TestDb;
    let agent: SessionAgent;
    let server: Awaited<ReturnType<typeof listen>>;
    let collector: Collector;

    beforeAll(async () => {
      t = await createPgTestDb();
      agent = await sessionAgent({ agentId, policy: testPolicy({ portPool: { kind: 'range', first: 21200, last: 21249 } }) });
      server = await listen(agent.app);
      collector = createCollector({ config: baseConfig({ agents: [{ id: agentId, baseUrl: server.url, token: VIEWER_KEY }] }), db: t.db, logger: silent });
      await collector.start({ schedule: false });
    });
    afterAll(async () => {
      await collector?.stop();
      await server?.close();
      await removeSessionsOf(agentId);
      await agent?.close();
      await t?.drop();
    });

    /** One agent sample, then one 5-minute-tier poll; returns the sample's time and the session's row. */
    async function pollOnce(containerId: string): Promise<{ ts: Date; row: Row | undefined }> {
      const s = await agent.sampler.sampleNow();
      expect(await collector.runTier('services')).toMatchObject({ polled: 1, ok: 1, failed: 0 });
      const { rows } = await t.db.query<Row>('SELECT * FROM container_sessions WHERE agent_id = $1 AND container_id = $2', [agentId, containerId]);
      return { ts: new Date(s.status.timestamp), row: rows[0] };
    }

    test('created → running row; stopped → stopped_at set once; started → reopened; deleted → removed and closed', async () => {
      const session = `${agentId}-s1`;
      const created = await request(agent.app).post('/api/v1/containers').set(op).send({ username: 'dave', session_id: session, image: TEST_IMAGE, ports: [8080] });
      expect(created.status).toBe(201);
      const id: string = created.body.id;
      const port: number = created.body.ports[0].host_port;

      const p1 = await pollOnce(id);
      expect(p1.row).toMatchObject({ username: 'dave', session_id: session, port, status: 'running', managed: true, stopped_at: null });
      expect(p1.row!.created_at.toISOString()).toBe(created.body.created_at);
      expect(p1.row!.first_seen_at).toEqual(p1.ts);

      await request(agent.app).post(`/api/v1/containers/${id}/stop`).set(op).expect(200);
      const p2 = await pollOnce(id);
      // Stopped sessions keep their port (held for a restart).
      expect(p2.row).toMatchObject({ status: 'exited', port });
      expect(p2.row!.stopped_at).toEqual(p2.ts);

      const p3 = await pollOnce(id);
      expect(p3.row!.stopped_at).toEqual(p2.ts); // set once, not moved by later polls
      expect(p3.row!.last_seen_at).toEqual(p3.ts);

      await request(agent.app).post(`/api/v1/containers/${id}/start`).set(op).expect(200);
      const p4 = await pollOnce(id);
      expect(p4.row).toMatchObject({ status: 'running', stopped_at: null, port });

      await request(agent.app).delete(`/api/v1/containers/${id}`).set(op).expect(200);
      const p5 = await pollOnce(id);
      expect(p5.row).toMatchObject({ status: 'removed', session_id: session, username: 'dave' });
      expect(p5.row!.stopped_at).toEqual(p5.ts);
      expect(p5.row!.first_seen_at).toEqual(p1.ts);

      const p6 = await pollOnce(id);
      expect(p6.row!.stopped_at).toEqual(p5.ts);
      const all = await t.db.query<Row>('SELECT * FROM container_sessions WHERE agent_id = $1 AND session_id = $2', [agentId, session]);
      expect(all.rows).toHaveLength(1);
    }, 90_000);
  });
});
