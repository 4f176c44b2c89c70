-- Fleet scale: per-agent health, clock skew, and leases so that several
-- collectors share one fleet.

-- Health as the collector sees it. `state` is 'unreachable' after a failed
-- poll (the reason is `<error code>: <message>`), 'ok' after the next success;
-- while unreachable the agent is retried no earlier than next_attempt_at
-- (capped, jittered exponential backoff).
ALTER TABLE agents
  ADD COLUMN state                text NOT NULL DEFAULT 'unknown' CHECK (state IN ('unknown', 'ok', 'unreachable')),
  ADD COLUMN unreachable_reason   text,
  ADD COLUMN consecutive_failures integer NOT NULL DEFAULT 0,
  ADD COLUMN next_attempt_at      timestamptz,
  -- Agent sample time minus collector time at the last poll that returned a sample.
  ADD COLUMN clock_skew_ms        real;

ALTER TABLE agent_polls ADD COLUMN clock_skew_ms real;

-- Live collector processes. A collector is alive while its heartbeat is
-- fresher than the lease TTL; its leases are then valid.
CREATE TABLE collectors (
  id           text PRIMARY KEY,
  started_at   timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now()
);

-- One row per agent; collector_id NULL = free. A lease whose collector is
-- gone or stale is free to claim (FOR UPDATE SKIP LOCKED, see store/leases.ts).
CREATE TABLE agent_leases (
  agent_id     text PRIMARY KEY REFERENCES agents (id) ON DELETE CASCADE,
  collector_id text,
  renewed_at   timestamptz
);
CREATE INDEX agent_leases_collector_idx ON agent_leases (collector_id);
