-- ViWorks Monitor: alerting, incident history, notifications, automated responses.
--
-- alert_states is the evaluator's memory between evaluations: one row per
-- alert instance (rule × agent [× service]) that is not trivially inactive.
-- incidents is the history people read: one row per firing episode, with its
-- events and the automated actions taken. notifications is an outbox, so a
-- receiver that is down delays a message instead of losing it.

CREATE TABLE incidents (
  id               bigserial PRIMARY KEY,
  alert_key        text        NOT NULL,
  rule             text        NOT NULL,
  agent_id         text        NOT NULL,
  subject          text,
  severity         text        NOT NULL CHECK (severity IN ('warning', 'critical')),
  peak_severity    text        NOT NULL CHECK (peak_severity IN ('warning', 'critical')),
  peak_value       double precision,
  summary          text        NOT NULL,
  opened_at        timestamptz NOT NULL,
  resolved_at      timestamptz CHECK (resolved_at >= opened_at),
  -- MTTR per agent or rule is avg(duration_seconds): see the incident_mttr view.
  duration_seconds double precision GENERATED ALWAYS AS (extract(epoch FROM (resolved_at - opened_at))::double precision) STORED,
  acknowledged_at  timestamptz,
  acknowledged_by  text,
  ack_comment      text,
  -- Level changes (ok/warning/critical) while it was open, not counting the one that resolved it.
  flap_count       integer     NOT NULL DEFAULT 0,
  escalated        boolean     NOT NULL DEFAULT false,
  updated_at       timestamptz NOT NULL
);
-- At most one open incident per alert: a retried evaluation cannot open a second.
CREATE UNIQUE INDEX incidents_one_open_per_alert ON incidents (alert_key) WHERE resolved_at IS NULL;
CREATE INDEX incidents_agent_opened_idx ON incidents (agent_id, opened_at DESC);
CREATE INDEX incidents_rule_opened_idx ON incidents (rule, opened_at DESC);
CREATE INDEX incidents_opened_idx ON incidents (opened_at DESC);

CREATE TABLE incident_events (
  id          bigserial PRIMARY KEY,
  incident_id bigint      NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  ts          timestamptz NOT NULL,
  kind        text        NOT NULL CHECK (kind IN (
                'opened', 'severity_changed', 'unknown', 'known', 'flapping_started', 'flapping_stopped',
                'resolved', 'acknowledged', 'notified', 'action')),
  severity    text CHECK (severity IN ('warning', 'critical')),
  value       double precision,
  actor       text,
  detail      text
);
CREATE INDEX incident_events_incident_idx ON incident_events (incident_id, id);

-- Automated responses. Budgets ("at most N restarts of this service per hour")
-- are counted here, across incidents.
CREATE TABLE incident_actions (
  id               bigserial PRIMARY KEY,
  incident_id      bigint REFERENCES incidents (id) ON DELETE SET NULL,
  alert_key        text        NOT NULL,
  agent_id         text        NOT NULL,
  service          text        NOT NULL,
  action           text        NOT NULL CHECK (action IN ('restart')),
  status           text        NOT NULL CHECK (status IN ('started', 'succeeded', 'failed', 'skipped')),
  started_at       timestamptz NOT NULL,
  finished_at      timestamptz,
  -- The agent's correlation id: the same id is in the agent's audit log.
  agent_command_id text,
  detail           text
);
CREATE INDEX incident_actions_service_idx ON incident_actions (agent_id, service, started_at DESC);
CREATE INDEX incident_actions_incident_idx ON incident_actions (incident_id);

CREATE TABLE alert_states (
  alert_key   text PRIMARY KEY,
  rule        text        NOT NULL,
  agent_id    text        NOT NULL,
  subject     text,
  status      text        NOT NULL CHECK (status IN ('inactive', 'pending', 'firing', 'unknown')),
  severity    text CHECK (severity IN ('warning', 'critical')),
  flapping    boolean     NOT NULL DEFAULT false,
  escalated   boolean     NOT NULL DEFAULT false,
  value       double precision,
  detail      text,
  active_at   timestamptz,
  firing_at   timestamptz,
  incident_id bigint REFERENCES incidents (id) ON DELETE SET NULL,
  -- The rest of the evaluator's memory (timers, level history, last notification).
  machine     jsonb       NOT NULL,
  updated_at  timestamptz NOT NULL
);
CREATE INDEX alert_states_agent_idx ON alert_states (agent_id);

CREATE TABLE notifications (
  id            bigserial PRIMARY KEY,
  receiver      text        NOT NULL,
  group_key     text        NOT NULL,
  status        text        NOT NULL CHECK (status IN ('queued', 'sending', 'retrying', 'sent', 'failed')),
  alerts        jsonb       NOT NULL,
  created_at    timestamptz NOT NULL,
  -- Not before: group_wait for a new message, the backoff after a failure,
  -- the lease of a message being sent (a collector that dies mid-send).
  deliver_after timestamptz NOT NULL,
  attempts      integer     NOT NULL DEFAULT 0,
  last_error    text,
  sent_at       timestamptz
);
-- Alerts of one group arriving within group_wait join the queued message.
CREATE UNIQUE INDEX notifications_one_queued_per_group ON notifications (receiver, group_key) WHERE status = 'queued';
CREATE INDEX notifications_due_idx ON notifications (deliver_after) WHERE status IN ('queued', 'sending', 'retrying');

-- Mean time to recovery per agent and rule, over all resolved incidents.
CREATE VIEW incident_mttr AS
SELECT agent_id, rule, count(*)::int AS incidents, avg(duration_seconds) AS mttr_seconds, max(duration_seconds) AS longest_seconds
FROM incidents
WHERE resolved_at IS NOT NULL
GROUP BY agent_id, rule;
