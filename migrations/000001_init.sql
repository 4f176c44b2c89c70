-- ViWorks Monitor: initial schema.
--
-- Time-series tables carry their time column in the primary key, as (agent_id,
-- ts) or (agent_id, <thing>, ts): it is the natural key that makes a retried
-- write a no-op (ON CONFLICT DO NOTHING), it serves the per-agent range scans
-- every trend query makes, and it is the shape range partitioning and
-- TimescaleDB hypertables require (the partition key must be in every unique
-- index). There are deliberately no foreign keys from time-series rows to
-- `agents`, for the same reason and so that an agent's history outlives its
-- registration.

CREATE TABLE agents (
  id              text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9._-]{1,50}$'),
  base_url        text NOT NULL,
  source          text NOT NULL DEFAULT 'config',
  hostname        text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  last_seen_at    timestamptz,   -- last successful poll of any tier
  last_poll_at    timestamptz,
  last_poll_tier  text,
  last_poll_ok    boolean,
  last_poll_error text
);

-- Every poll, good or bad: availability history and the reason a poll failed.
CREATE TABLE agent_polls (
  agent_id      text        NOT NULL,
  ts            timestamptz NOT NULL,
  tier          text        NOT NULL CHECK (tier IN ('metrics', 'services', 'inventory')),
  ok            boolean     NOT NULL,
  duration_ms   real        NOT NULL,
  error_code    text,
  error_message text,
  PRIMARY KEY (agent_id, tier, ts)
);
CREATE INDEX agent_polls_ts_idx ON agent_polls (ts);

-- The spec's performance metrics (30 s tier).
CREATE TABLE agent_metrics (
  agent_id         text        NOT NULL,
  ts               timestamptz NOT NULL,
  cpu_usage        real        NOT NULL,
  memory_usage     real        NOT NULL,
  disk_usage       real        NOT NULL,
  load_average_1m  real        NOT NULL,
  load_average_5m  real        NOT NULL,
  load_average_15m real        NOT NULL,
  uptime_seconds   bigint      NOT NULL,
  temperature      real,
  PRIMARY KEY (agent_id, ts)
);
CREATE INDEX agent_metrics_ts_idx ON agent_metrics (ts);

-- The spec's service status (5 min tier), with per-service resource use.
CREATE TABLE service_status (
  agent_id      text        NOT NULL,
  ts            timestamptz NOT NULL,
  service_name  text        NOT NULL,
  status        text        NOT NULL CHECK (status IN ('running', 'stopped', 'error')),
  pid           integer,
  cpu_percent   real,
  memory_bytes  bigint,
  PRIMARY KEY (agent_id, service_name, ts)
);
CREATE INDEX service_status_agent_ts_idx ON service_status (agent_id, ts);
CREATE INDEX service_status_ts_idx ON service_status (ts);

-- The spec's container sessions: one row per container's life on an agent.
CREATE TABLE container_sessions (
  agent_id      text        NOT NULL,
  container_id  text        NOT NULL,
  name          text        NOT NULL,
  image         text        NOT NULL,
  username      text,
  session_id    text,
  port          integer,
  status        text        NOT NULL,
  managed       boolean     NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL,
  first_seen_at timestamptz NOT NULL,
  last_seen_at  timestamptz NOT NULL,
  stopped_at    timestamptz,
  PRIMARY KEY (agent_id, container_id)
);
CREATE INDEX container_sessions_session_idx ON container_sessions (agent_id, session_id);

-- Hourly inventory (1 h tier).
CREATE TABLE system_inventory (
  agent_id           text        NOT NULL,
  ts                 timestamptz NOT NULL,
  hostname           text        NOT NULL,
  os_name            text        NOT NULL,
  os_version         text        NOT NULL,
  kernel_version     text        NOT NULL,
  architecture       text        NOT NULL,
  cpu_cores          integer     NOT NULL,
  cpu_brand          text        NOT NULL,
  cpu_frequency_mhz  real        NOT NULL,
  memory_total_bytes bigint      NOT NULL,
  PRIMARY KEY (agent_id, ts)
);

CREATE TABLE disk_usage (
  agent_id      text        NOT NULL,
  ts            timestamptz NOT NULL,
  mount         text        NOT NULL,
  filesystem    text        NOT NULL,
  fs_type       text        NOT NULL,
  size_bytes    bigint      NOT NULL,
  used_bytes    bigint      NOT NULL,
  usage_percent real        NOT NULL,
  PRIMARY KEY (agent_id, mount, ts)
);
CREATE INDEX disk_usage_ts_idx ON disk_usage (ts);

CREATE TABLE network_stats (
  agent_id        text        NOT NULL,
  ts              timestamptz NOT NULL,
  interface       text        NOT NULL,
  bytes_sent      bigint      NOT NULL,
  bytes_received  bigint      NOT NULL,
  errors_sent     bigint      NOT NULL,
  errors_received bigint      NOT NULL,
  PRIMARY KEY (agent_id, interface, ts)
);
CREATE INDEX network_stats_ts_idx ON network_stats (ts);

-- Singleton jobs (retention, later alert evaluation): one collector wins a tick.
CREATE TABLE job_runs (
  name        text PRIMARY KEY,
  last_run_at timestamptz NOT NULL DEFAULT '-infinity'
);
