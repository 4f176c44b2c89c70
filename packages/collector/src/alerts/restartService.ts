import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { CommandResult, StatusResponse } from '@viworks/protocol';
import type { AgentTarget } from '../config';
import type { AgentClient } from '../polling/agentClient';
import type { AutoRestartPolicy } from './rules';

export interface RestartOutcome {
  ok: boolean;
  /** True when the collector stopped before the check ended: not the service's fault. */
  aborted: boolean;
  detail: string;
  /** The agent's correlation id: the same id is in its audit log. */
  agentCommandId: string | null;
  /** The status that showed the service running again. */
  status: StatusResponse | null;
}

async function postRestart(agent: AgentTarget, service: string, timeoutMs: number, stop?: AbortSignal): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = { accept: 'application/json', 'content-type': 'application/json' };
  if (agent.token) headers.authorization = `Bearer ${agent.token}`;
  const res = await request(`${agent.baseUrl}/api/v1/services/${encodeURIComponent(service)}/restart`, {
    method: 'POST',
    headers,
    body: '{}',
    signal: stop ? AbortSignal.any([AbortSignal.timeout(timeoutMs), stop]) : AbortSignal.timeout(timeoutMs),
  });
  const text = await res.body.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = text.slice(0, 200);
  }
  return { status: res.statusCode, body };
}

const errorText = (body: unknown): string => {
  const e = (body as { error?: { code?: string; message?: string } })?.error;
  return e ? `${e.code ?? 'error'}: ${e.message ?? ''}` : JSON.stringify(body).slice(0, 200);
};

/**
 * Asks the agent to restart a service (its `POST /api/v1/services/:name/restart`,
 * role operator, audited on the agent), then polls the agent's status until
 * the service shows `running` or verifyTimeout passes.
 */
export async function restartAndVerify(
  deps: { client: AgentClient; signal?: AbortSignal },
  agent: AgentTarget,
  service: string,
  policy: AutoRestartPolicy,
): Promise<RestartOutcome> {
  const fail = (detail: string, agentCommandId: string | null = null, aborted = false): RestartOutcome => ({ ok: false, aborted, detail, agentCommandId, status: null });
  let res;
  try {
    res = await postRestart(agent, service, policy.requestTimeoutMs, deps.signal);
  } catch (err) {
    if (deps.signal?.aborted) return fail('the collector stopped before the agent answered', null, true);
    const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string } };
    return fail(`restart request failed: ${e.name === 'TimeoutError' ? 'no answer in time' : `${e.code ?? e.cause?.code ?? e.name}: ${e.message}`}`);
  }
  if (res.status === 401 || res.status === 403) {
    return fail(`the agent refused the restart (HTTP ${res.status} ${errorText(res.body)}): the collector's token for ${agent.id} needs the operator role`);
  }
  if (res.status !== 200) {
    const id = (res.body as { id?: unknown })?.id;
    return fail(`the agent refused the restart (HTTP ${res.status} ${errorText(res.body)})`, typeof id === 'string' ? id : null);
  }
  const parsed = CommandResult.safeParse(res.body);
  if (!parsed.success) return fail('the agent answered the restart with an unexpected body');
  const cmd = parsed.data;
  if (cmd.status !== 'completed') {
    const why = cmd.status === 'timed_out' ? 'timed out' : `exited with ${cmd.exit_code ?? cmd.signal ?? 'an error'}`;
    const stderr = cmd.stderr.trim().slice(0, 200);
    return fail(`restart command ${why}${stderr ? `: ${stderr}` : ''}`, cmd.id);
  }

  const deadline = Date.now() + policy.verifyTimeoutMs;
  let last = 'no status yet';
  for (;;) {
    if (deps.signal?.aborted) return fail('the collector stopped before the check ended', cmd.id, true);
    try {
      const status = await deps.client.get(agent, '/api/v1/status', StatusResponse);
      const svc = status.services.find((s) => s.name === service);
      last = svc ? svc.status : 'not reported';
      if (svc?.status === 'running') {
        return { ok: true, aborted: false, detail: `running again (pid ${svc.pid ?? 'unknown'})`, agentCommandId: cmd.id, status };
      }
    } catch (err) {
      last = `status unavailable: ${(err as Error).message}`;
    }
    const left = deadline - Date.now();
    if (left <= 0) break;
    try {
      await sleep(Math.min(policy.verifyIntervalMs, left), undefined, { signal: deps.signal });
    } catch {
      return fail('the collector stopped before the check ended', cmd.id, true);
    }
  }
  return fail(`not running ${policy.verifyTimeoutMs / 1000} s after the restart (${last})`, cmd.id);
}
