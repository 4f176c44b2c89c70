import type Docker from 'dockerode';
import type { Logger } from 'pino';
import type { CleanupResult, ContainerInfo } from '@viworks/protocol';
import { describeContainers, LABELS } from '../sampling/containers';
import { allocatePorts, freePorts } from './allocatePorts';
import { buildCreateOptions, sessionContainerName } from './buildCreateOptions';
import type { SessionPolicy } from './policy';
import { selectExpired, type SessionTimes } from './selectExpired';
import { dockerStatus, fromDocker, isPortBindFailure, SessionError } from './sessionError';
import type { SessionSpec } from './validateSessionRequest';

export interface SessionManagerDeps {
  docker: Docker;
  policy: SessionPolicy;
  /** Sessions are labelled with it; the agent acts only on its own. */
  agentId: string;
  /** Named in "Docker unavailable" messages. */
  dockerSocket?: string;
  logger: Logger;
  now?: () => Date;
  /** Bound on engine reads (list, inspect); a hung engine answers 503, not never. Default 10 s. */
  readTimeoutMs?: number;
}

/** A session container this agent owns, found from an id, id prefix or session id. */
export interface SessionRef {
  readonly id: string;
  readonly sessionId: string | null;
  readonly username: string | null;
}

export interface CleanupOptions {
  ttlSeconds?: number;
  exitedTtlSeconds?: number;
  dryRun?: boolean;
  /** Agent start only: also remove sessions created but never started (a crash mid-spawn). */
  removeUnstarted?: boolean;
}

export interface SessionManager {
  /** Creates and starts a session. Either it runs, or nothing of it is left. */
  spawn(spec: SessionSpec, createdBy: string): Promise<ContainerInfo>;
  /** This agent's sessions, described live from the engine. */
  list(): Promise<ContainerInfo[]>;
  find(ref: string): Promise<SessionRef>;
  stop(ref: SessionRef): Promise<ContainerInfo>;
  start(ref: SessionRef): Promise<ContainerInfo>;
  remove(ref: SessionRef): Promise<void>;
  cleanup(opts?: CleanupOptions): Promise<CleanupResult>;
}

/** Ports and session id held for a spawn between choosing them and its container existing. */
interface Reservation {
  readonly sessionId: string;
  readonly ports: readonly number[];
  /** Sequence number at release; null while the spawn is in flight. */
  doneSeq: number | null;
  /** The container exists (a listing begun before the release may not show it yet). */
  created: boolean;
}

// A spawn whose start fails because a pool port is taken by something we cannot
// see (a host process) is retried on other ports this many times.
const PORT_ATTEMPTS = 3;

export function createSessionManager(deps: SessionManagerDeps): SessionManager {
  const { docker, policy, agentId, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const socket = deps.dockerSocket ?? 'the Docker socket';
  const readTimeoutMs = deps.readTimeoutMs ?? 10_000;
  const reservations = new Set<Reservation>();
  let seq = 0;
  let nextPort: number | undefined;
  let tail: Promise<unknown> = Promise.resolve();

  /** One at a time: read what the engine holds, then reserve from it. */
  function locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  }

  async function read<T>(p: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        p,
        new Promise<T>((_, reject) => {
          timer = setTimeout(
            () => reject(new SessionError(503, 'docker_unavailable', `the Docker engine at ${socket} did not answer within ${readTimeoutMs} ms while trying to ${what}`)),
            readTimeoutMs,
          );
        }),
      ]);
    } catch (err) {
      throw fromDocker(err, what, socket);
    } finally {
      clearTimeout(timer);
    }
  }

  const ours = (c: Docker.ContainerInfo) => c.Labels?.[LABELS.managed] === 'true' && c.Labels?.[LABELS.agentId] === agentId;
  const heldPorts = (c: Docker.ContainerInfo): number[] => [
    ...(c.Labels?.[LABELS.hostPorts] ?? '').split(',').filter(Boolean).map(Number),
    ...(c.Ports ?? []).map((p) => p.PublicPort).filter((p): p is number => typeof p === 'number'),
  ];

  /**
   * Chooses host ports and claims the session id for one spawn. Ports held by
   * existing containers come from the engine (the host-ports label covers
   * stopped sessions, which publish nothing); ports of spawns still between
   * here and their container existing come from `reservations`. Under the lock,
   * so 20 spawns at once see each other. A reservation is dropped by the first
   * listing that began after its release (that listing shows the container, or
   * there is none); until then it still counts, which can only over-count, never
   * hand a port out twice.
   */
  async function reserve(spec: SessionSpec, exclude: ReadonlySet<number>): Promise<Reservation> {
    return locked(async () => {
      const listSeq = ++seq;
      const all = await read(docker.listContainers({ all: true }), 'list containers');
      // A reservation released before this listing began is in it (or was removed): drop it.
      for (const r of reservations) if (r.doneSeq !== null && r.doneSeq < listSeq) reservations.delete(r);
      const pending = [...reservations];
      if (all.some((c) => c.Labels?.[LABELS.sessionId] === spec.sessionId) || pending.some((r) => r.sessionId === spec.sessionId)) {
        throw new SessionError(409, 'session_exists', `session_id: a session "${spec.sessionId}" already exists`);
      }
      const count = all.filter(ours).length + pending.filter((r) => r.doneSeq === null || r.created).length;
      if (count >= policy.maxSessions) {
        throw new SessionError(409, 'session_limit', `this agent already holds ${count} sessions, the most AGENT_SESSION_MAX_SESSIONS allows (${policy.maxSessions})`);
      }
      const used = new Set<number>(exclude);
      for (const c of all) for (const p of heldPorts(c)) used.add(p);
      for (const r of pending) for (const p of r.ports) used.add(p);
      const got = allocatePorts(policy.portPool, used, spec.ports.length, nextPort);
      if (!got) {
        const pool = policy.portPool.kind === 'range' ? `${policy.portPool.first}-${policy.portPool.last}` : 'ephemeral';
        throw new SessionError(409, 'port_pool_exhausted', `ports: ${spec.ports.length} host port(s) needed, ${freePorts(policy.portPool, used)} free in the pool ${pool}`);
      }
      if (policy.portPool.kind === 'range') nextPort = got.next;
      const r: Reservation = { sessionId: spec.sessionId, ports: got.ports, doneSeq: null, created: false };
      reservations.add(r);
      return r;
    });
  }

  async function describeById(id: string): Promise<ContainerInfo> {
    const list = await read(docker.listContainers({ all: true, filters: { id: [id] } }), 'list the session');
    const [info] = await read(describeContainers(docker, list), 'inspect the session');
    if (!info) throw new SessionError(404, 'not_found', `container ${id} is gone`);
    return info;
  }

  /** Create then start; if start fails, the container is removed again. */
  async function createAndStart(spec: SessionSpec, hostPorts: readonly number[], createdBy: string): Promise<string> {
    let container: Docker.Container;
    try {
      container = await docker.createContainer(buildCreateOptions(spec, hostPorts, policy, { agentId, createdBy }));
    } catch (err) {
      if (dockerStatus(err) === 409) {
        throw new SessionError(409, 'session_exists', `session_id: a container named ${sessionContainerName(spec.sessionId)} already exists`, { cause: err });
      }
      throw fromDocker(err, 'create the session container', socket);
    }
    try {
      await container.start();
      return container.id;
    } catch (err) {
      await container.remove({ force: true, v: true }).catch((e: unknown) => {
        // Agent start removes never-started sessions, so this one will not linger past a restart.
        logger.error({ err: e, id: container.id }, 'could not remove a session container that failed to start');
      });
      if (isPortBindFailure(err)) throw new PortTaken(err);
      throw fromDocker(err, 'start the session container', socket);
    }
  }

  async function toTimes(c: Docker.ContainerInfo): Promise<SessionTimes> {
    const inspect = await read(docker.getContainer(c.Id).inspect(), 'inspect a session');
    const time = (s: string) => (!s || s.startsWith('0001-') ? null : new Date(s));
    return {
      id: c.Id,
      sessionId: c.Labels?.[LABELS.sessionId] ?? null,
      state: inspect.State.Status,
      createdAt: new Date(inspect.Created),
      startedAt: time(inspect.State.StartedAt),
      finishedAt: time(inspect.State.FinishedAt),
    };
  }

  return {
    async spawn(spec, createdBy) {
      try {
        await read(docker.getImage(spec.image).inspect(), `inspect image ${spec.image}`);
      } catch (err) {
        if (err instanceof SessionError && err.status === 404) {
          throw new SessionError(400, 'image_unavailable', `image: "${spec.image}" is allow-listed but not present on the Docker engine (load or pull it there first)`, { cause: err });
        }
        throw err;
      }
      const exclude = new Set<number>();
      for (let attempt = 1; ; attempt++) {
        const r = await reserve(spec, exclude);
        try {
          const id = await createAndStart(spec, r.ports, createdBy);
          r.created = true;
          return await describeById(id);
        } catch (err) {
          if (!(err instanceof PortTaken)) throw err;
          if (policy.portPool.kind === 'ephemeral' || attempt >= PORT_ATTEMPTS) {
            throw new SessionError(409, 'port_in_use', `ports: the engine could not bind host port(s) ${r.ports.join(', ')} on ${policy.bindIp}: ${err.message}`, { cause: err });
          }
          logger.warn({ ports: r.ports, sessionId: spec.sessionId }, 'host port taken outside Docker; retrying with other pool ports');
          for (const p of r.ports) exclude.add(p);
        } finally {
          r.doneSeq = ++seq;
        }
      }
    },

    async list() {
      const list = await read(
        docker.listContainers({ all: true, filters: { label: [`${LABELS.managed}=true`, `${LABELS.agentId}=${agentId}`] } }),
        'list sessions',
      );
      return read(describeContainers(docker, list), 'describe sessions');
    },

    async find(ref) {
      const list = await read(docker.listContainers({ all: true, filters: { label: [`${LABELS.managed}=true`] } }), 'list sessions');
      const byPrefix = /^[0-9a-f]{12,64}$/.test(ref) ? list.filter((c) => c.Id.startsWith(ref)) : [];
      const match =
        list.find((c) => c.Id === ref) ?? list.find((c) => c.Labels?.[LABELS.sessionId] === ref) ?? (byPrefix.length === 1 ? byPrefix[0] : undefined);
      if (!match) {
        // Tell "not ours" from "no such thing", without acting on it.
        const exists = await docker
          .getContainer(ref)
          .inspect()
          .then(() => true)
          .catch(() => false);
        if (exists) throw new SessionError(403, 'not_managed', `container "${ref}" was not created by this agent; it is listed read-only and cannot be changed here`);
        throw new SessionError(404, 'not_found', `no session container "${ref}" (give a container id or a session id)`);
      }
      if (match.Labels?.[LABELS.agentId] !== agentId) {
        throw new SessionError(403, 'not_managed', `container "${ref}" belongs to agent "${match.Labels?.[LABELS.agentId] ?? '?'}", not to this one ("${agentId}")`);
      }
      return { id: match.Id, sessionId: match.Labels?.[LABELS.sessionId] ?? null, username: match.Labels?.[LABELS.username] ?? null };
    },

    async stop(ref) {
      try {
        await docker.getContainer(ref.id).stop({ t: policy.stopTimeoutSeconds });
      } catch (err) {
        if (dockerStatus(err) !== 304) throw fromDocker(err, `stop session ${ref.sessionId ?? ref.id}`, socket); // 304: already stopped
      }
      return describeById(ref.id);
    },

    async start(ref) {
      try {
        await docker.getContainer(ref.id).start();
      } catch (err) {
        if (isPortBindFailure(err)) {
          throw new SessionError(409, 'port_in_use', `the session's host port is now taken by something else: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
        }
        if (dockerStatus(err) !== 304) throw fromDocker(err, `start session ${ref.sessionId ?? ref.id}`, socket); // 304: already running
      }
      return describeById(ref.id);
    },

    async remove(ref) {
      try {
        await docker.getContainer(ref.id).remove({ force: true, v: true });
      } catch (err) {
        if (dockerStatus(err) !== 404) throw fromDocker(err, `remove session ${ref.sessionId ?? ref.id}`, socket); // 404: already gone
      }
    },

    async cleanup(opts = {}) {
      const list = (await read(docker.listContainers({ all: true, filters: { label: [`${LABELS.managed}=true`] } }), 'list sessions')).filter(ours);
      const times = (await Promise.all(list.map((c) => toTimes(c).catch(() => null)))).filter((t): t is SessionTimes => t !== null);
      const expired = selectExpired(
        times,
        {
          ttlMs: (opts.ttlSeconds ?? policy.ttlSeconds) * 1000,
          exitedTtlMs: (opts.exitedTtlSeconds ?? policy.exitedTtlSeconds) * 1000,
          removeUnstarted: opts.removeUnstarted ?? false,
        },
        now(),
      );
      const result: CleanupResult = { removed: [], kept: times.length - expired.length, failed: [], dry_run: opts.dryRun ?? false };
      await Promise.all(
        expired.map(async ({ session, reason }) => {
          if (!opts.dryRun) {
            try {
              await docker.getContainer(session.id).remove({ force: true, v: true });
            } catch (err) {
              if (dockerStatus(err) !== 404) {
                result.failed.push({ id: session.id, error: fromDocker(err, 'remove', socket).message });
                return;
              }
            }
          }
          result.removed.push({ id: session.id, session_id: session.sessionId, reason });
        }),
      );
      return result;
    },
  };
}

class PortTaken extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}
