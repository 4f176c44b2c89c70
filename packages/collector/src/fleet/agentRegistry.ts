import type { AgentTarget } from '../config';
import { upsertAgents } from '../store/agents';
import { deleteAgents, insertAgent, selectConfigAgentIds } from '../store/agentRegistry';
import type { Db } from '../store/db';

export class AgentExistsError extends Error {
  override name = 'AgentExistsError';
}

/**
 * The agents this collector knows, changeable while running: config at start,
 * POST/DELETE /api/v1/agents, and config reload (SIGHUP). The array is kept
 * and mutated in place: the alert engine reads it through agents().
 */
export class AgentRegistry {
  constructor(
    private readonly db: Db,
    readonly list: AgentTarget[],
    private readonly onRemove: (id: string) => void = () => undefined,
  ) {}

  async add(agent: AgentTarget, source = 'api'): Promise<void> {
    if (!(await insertAgent(this.db, agent, source))) throw new AgentExistsError(`agent "${agent.id}" is already registered`);
    this.list.push(agent);
  }

  /** False when no such agent was registered. */
  async remove(id: string): Promise<boolean> {
    const removed = await deleteAgents(this.db, [id]);
    this.forget(id);
    return removed.length === 1;
  }

  /** Config agents become exactly `agents`: new ones added, changed URLs updated, dropped ones removed. */
  async reloadConfig(agents: readonly AgentTarget[]): Promise<{ added: string[]; removed: string[] }> {
    const before = new Set(await selectConfigAgentIds(this.db));
    const wanted = new Set(agents.map((a) => a.id));
    await upsertAgents(this.db, agents, 'config');
    const removed = await deleteAgents(this.db, [...before].filter((id) => !wanted.has(id)));
    for (const id of removed) this.forget(id);
    const known = new Map(this.list.map((a, i) => [a.id, i]));
    for (const a of agents) {
      const i = known.get(a.id);
      if (i === undefined) this.list.push(a);
      else this.list[i] = a;
    }
    return { added: agents.filter((a) => !before.has(a.id)).map((a) => a.id), removed };
  }

  /** Targets for leased agents: URL from the database, token from local config when known. */
  targetsFor(owned: ReadonlyArray<{ id: string; base_url: string }>): AgentTarget[] {
    const local = new Map(this.list.map((a) => [a.id, a]));
    return owned.map((o) => {
      const l = local.get(o.id);
      return l && l.baseUrl === o.base_url ? l : { id: o.id, baseUrl: o.base_url, token: l?.token ?? null };
    });
  }

  private forget(id: string): void {
    const i = this.list.findIndex((a) => a.id === id);
    if (i >= 0) this.list.splice(i, 1);
    this.onRemove(id);
  }
}
