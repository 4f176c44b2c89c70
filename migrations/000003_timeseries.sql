-- ViWorks Monitor: the time-series store at scale.
--
-- One migration set serves two storage modes, chosen once, here, and recorded
-- in timeseries_storage:
--
--   timescaledb  the extension is installable and preloaded: 000004 turns the
--                raw tables into hypertables and creates the rollups as
--                continuous aggregates with refresh, retention and compression
--                policies. This file then only adds the mode and the
--                (unused) invalidation table.
--   partitioned  plain PostgreSQL and PGlite: this file. The three tables
--                written on every poll (agent_metrics, service_status,
--                agent_polls) become range-partitioned by day; the collector
--                creates partitions ahead (store/partitions.ts) and retention
--                drops whole partitions instead of deleting rows. Rollup
--                tables (5 min and 1 h) have the same names and columns as
--                the continuous aggregates, so every query is the same in
--                both modes.
--
-- An operator can force plain partitioning on a TimescaleDB server with
--   ALTER DATABASE … SET viworks.storage = 'partitioned';
-- before the first start.
--
-- Every bucket is date_bin(width, ts, '2000-01-03 00:00:00+00'): the origin
-- TimescaleDB's time_bucket() uses, so a row falls in the same bucket in both
-- modes (src/timeseries/time.ts).

CREATE TABLE timeseries_storage (
  singleton  boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
  mode       text        NOT NULL CHECK (mode IN ('partitioned', 'timescaledb')),
  decided_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO timeseries_storage (mode)
SELECT CASE
  WHEN coalesce(current_setting('viworks.storage', true), '') = 'partitioned' THEN 'partitioned'
  WHEN EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN 'timescaledb'
  WHEN EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')
       AND coalesce(current_setting('shared_preload_libraries', true), '') ~ 'timescaledb' THEN 'timescaledb'
  ELSE 'partitioned'
END;

-- The rollups' to-do list (partitioned mode). A statement trigger on each raw
-- table records which (agent, 5-minute bucket) an INSERT touched, in the
-- writer's own transaction, so no write can be missed by a crash; the
-- collector drains it after every tier and recomputes exactly those buckets
-- from raw rows (store/rollups.ts). This is the invalidation-log design of
-- TimescaleDB's continuous aggregates, done by hand.
CREATE TABLE rollup_invalidations (
  source   text        NOT NULL CHECK (source IN ('agent_metrics', 'service_status', 'agent_polls')),
  agent_id text        NOT NULL,
  bucket   timestamptz NOT NULL,
  PRIMARY KEY (source, agent_id, bucket)
);

DO $partitioned$
BEGIN
  IF (SELECT mode FROM timeseries_storage) <> 'partitioned' THEN
    RETURN;
  END IF;

  -- Each table becomes a partitioned parent with identical columns; the
  -- existing table, with whatever rows it already holds, becomes its DEFAULT
  -- partition without copying anything. Those rows age out through
  -- retention's DELETE on the default partition; new days get partitions of
  -- their own. The default partition also catches rows no partition exists
  -- for (an agent whose clock is far off) instead of failing the tier.

  ALTER TABLE agent_metrics RENAME TO agent_metrics_default;
  ALTER TABLE agent_metrics_default RENAME CONSTRAINT agent_metrics_pkey TO agent_metrics_default_pkey;
  ALTER INDEX agent_metrics_ts_idx RENAME TO agent_metrics_default_ts_idx;
  CREATE TABLE agent_metrics (
    LIKE agent_metrics_default INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    PRIMARY KEY (agent_id, ts)
  ) PARTITION BY RANGE (ts);
  -- Rows arrive in time order, so a BRIN index serves fleet-wide time-range
  -- scans inside a day at a fraction of a btree's size.
  CREATE INDEX agent_metrics_ts_brin ON agent_metrics USING brin (ts);
  ALTER TABLE agent_metrics ATTACH PARTITION agent_metrics_default DEFAULT;

  ALTER TABLE service_status RENAME TO service_status_default;
  ALTER TABLE service_status_default RENAME CONSTRAINT service_status_pkey TO service_status_default_pkey;
  ALTER INDEX service_status_agent_ts_idx RENAME TO service_status_default_agent_ts_idx;
  ALTER INDEX service_status_ts_idx RENAME TO service_status_default_ts_idx;
  CREATE TABLE service_status (
    LIKE service_status_default INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    PRIMARY KEY (agent_id, service_name, ts)
  ) PARTITION BY RANGE (ts);
  CREATE INDEX service_status_agent_ts_idx ON service_status (agent_id, ts);
  CREATE INDEX service_status_ts_brin ON service_status USING brin (ts);
  ALTER TABLE service_status ATTACH PARTITION service_status_default DEFAULT;

  ALTER TABLE agent_polls RENAME TO agent_polls_default;
  ALTER TABLE agent_polls_default RENAME CONSTRAINT agent_polls_pkey TO agent_polls_default_pkey;
  ALTER INDEX agent_polls_ts_idx RENAME TO agent_polls_default_ts_idx;
  CREATE TABLE agent_polls (
    LIKE agent_polls_default INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    PRIMARY KEY (agent_id, tier, ts)
  ) PARTITION BY RANGE (ts);
  CREATE INDEX agent_polls_ts_brin ON agent_polls USING brin (ts);
  ALTER TABLE agent_polls ATTACH PARTITION agent_polls_default DEFAULT;

  -- Rollups. Columns are <raw column>_<aggregate>; avg and p95 are double
  -- precision (what avg() and percentile_cont() return), min and max keep the
  -- raw type. p95 is percentile_cont(0.95) over the bucket's raw samples.
  -- temperature_samples counts non-null temperatures so that averages of
  -- several buckets can be weighted correctly.
  CREATE TABLE agent_metrics_5m (
    agent_id             text             NOT NULL,
    bucket               timestamptz      NOT NULL,
    samples              integer          NOT NULL,
    cpu_usage_avg        double precision NOT NULL,
    cpu_usage_min        real             NOT NULL,
    cpu_usage_max        real             NOT NULL,
    cpu_usage_p95        double precision NOT NULL,
    memory_usage_avg     double precision NOT NULL,
    memory_usage_min     real             NOT NULL,
    memory_usage_max     real             NOT NULL,
    memory_usage_p95     double precision NOT NULL,
    disk_usage_avg       double precision NOT NULL,
    disk_usage_min       real             NOT NULL,
    disk_usage_max       real             NOT NULL,
    load_average_1m_avg  double precision NOT NULL,
    load_average_1m_min  real             NOT NULL,
    load_average_1m_max  real             NOT NULL,
    load_average_1m_p95  double precision NOT NULL,
    load_average_5m_avg  double precision NOT NULL,
    load_average_5m_max  real             NOT NULL,
    load_average_15m_avg double precision NOT NULL,
    load_average_15m_max real             NOT NULL,
    temperature_samples  integer          NOT NULL,
    temperature_avg      double precision,
    temperature_min      real,
    temperature_max      real,
    PRIMARY KEY (agent_id, bucket)
  );
  CREATE INDEX agent_metrics_5m_bucket_idx ON agent_metrics_5m (bucket);

  CREATE TABLE agent_metrics_1h (LIKE agent_metrics_5m INCLUDING ALL);

  -- Service state per hour: how many samples saw the service in each state.
  CREATE TABLE service_status_1h (
    agent_id          text             NOT NULL,
    service_name      text             NOT NULL,
    bucket            timestamptz      NOT NULL,
    samples           integer          NOT NULL,
    running_samples   integer          NOT NULL,
    stopped_samples   integer          NOT NULL,
    error_samples     integer          NOT NULL,
    cpu_percent_avg   double precision,
    cpu_percent_max   real,
    memory_bytes_max  bigint,
    PRIMARY KEY (agent_id, service_name, bucket)
  );
  CREATE INDEX service_status_1h_bucket_idx ON service_status_1h (bucket);

  -- Polls per hour and tier: the collector's view of each agent's availability.
  CREATE TABLE agent_polls_1h (
    agent_id        text             NOT NULL,
    tier            text             NOT NULL,
    bucket          timestamptz      NOT NULL,
    polls           integer          NOT NULL,
    ok_polls        integer          NOT NULL,
    duration_ms_avg double precision NOT NULL,
    duration_ms_max real             NOT NULL,
    PRIMARY KEY (agent_id, tier, bucket)
  );
  CREATE INDEX agent_polls_1h_bucket_idx ON agent_polls_1h (bucket);

  CREATE FUNCTION rollup_invalidate() RETURNS trigger LANGUAGE plpgsql AS $fn$
  BEGIN
    -- Sorted, so two writers insert shared keys in the same order (no deadlock).
    INSERT INTO rollup_invalidations (source, agent_id, bucket)
    SELECT DISTINCT TG_TABLE_NAME, agent_id, date_bin('5 minutes', ts, TIMESTAMPTZ '2000-01-03 00:00:00+00')
    FROM new_rows
    ORDER BY 2, 3
    ON CONFLICT DO NOTHING;
    RETURN NULL;
  END
  $fn$;

  CREATE TRIGGER agent_metrics_rollup_invalidate AFTER INSERT ON agent_metrics
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rollup_invalidate();
  CREATE TRIGGER service_status_rollup_invalidate AFTER INSERT ON service_status
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rollup_invalidate();
  CREATE TRIGGER agent_polls_rollup_invalidate AFTER INSERT ON agent_polls
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rollup_invalidate();

  -- Rows written before this migration: queue their buckets, so the first
  -- drains compute their rollups with the same code as every later write.
  INSERT INTO rollup_invalidations (source, agent_id, bucket)
  SELECT DISTINCT 'agent_metrics', agent_id, date_bin('5 minutes', ts, TIMESTAMPTZ '2000-01-03 00:00:00+00') FROM agent_metrics
  UNION
  SELECT DISTINCT 'service_status', agent_id, date_bin('5 minutes', ts, TIMESTAMPTZ '2000-01-03 00:00:00+00') FROM service_status
  UNION
  SELECT DISTINCT 'agent_polls', agent_id, date_bin('5 minutes', ts, TIMESTAMPTZ '2000-01-03 00:00:00+00') FROM agent_polls;
END
$partitioned$;
