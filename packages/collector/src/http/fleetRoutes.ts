import express, { Router } from 'express';
import { AgentTargetSchema } from '../config';
import { AgentExistsError, type AgentRegistry } from '../fleet/agentRegistry';
import { getAgent } from '../store/agents';
import type { Db } from '../store/db';
import { HttpError } from './errors';

/**
 * Agents added and removed while running: POST /api/v1/agents {id, url, token?}
 * → 201 with the agent; DELETE /api/v1/agents/:id → 204. The stored series of
 * a removed agent stay. With leases, every collector sees the change at its
 * next tick (the lease table follows the agents table).
 */
export function fleetRoutes(deps: { db: Db; registry: AgentRegistry }): Router {
  const router = Router();
  router.post('/api/v1/agents', express.json({ limit: '16kb' }), async (req, res) => {
    const r = AgentTargetSchema.safeParse(req.body ?? null);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      throw new HttpError(400, 'invalid_agent', `${issue.path.join('.') || 'body'}: ${issue.message}`);
    }
    const agent = { id: r.data.id, baseUrl: r.data.url.replace(/\/+$/, ''), token: r.data.token ?? null };
    try {
      await deps.registry.add(agent, 'api');
    } catch (err) {
      if (err instanceof AgentExistsError) throw new HttpError(409, 'agent_exists', err.message);
      throw err;
    }
    res.status(201).json(await getAgent(deps.db, agent.id));
  });
  router.delete('/api/v1/agents/:id', async (req, res) => {
    if (!(await deps.registry.remove(req.params.id))) throw new HttpError(404, 'unknown_agent', `no agent with id "${req.params.id}"`);
    res.status(204).end();
  });
  return router;
}
