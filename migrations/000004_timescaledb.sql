-- ViWorks Monitor: the TimescaleDB step.
--
-- Runs only when 000003 recorded mode 'timescaledb' (the extension is
-- available and preloaded); on plain PostgreSQL and PGlite the whole file is a
-- no-op. Written to TimescaleDB 2.13+'s documented API (the compose file runs
-- 2.17): create_hypertable() with by_range(), continuous aggregates created
-- WITH NO DATA (creating one with data cannot run inside the migration's
-- transaction) and filled by their refresh policies, add_retention_policy(),
-- add_compression_policy(). It cannot be run where this project is developed
-- (no TimescaleDB there); see README "TimescaleDB".
--
-- The continuous aggregates have the names and columns of 000003's rollup
-- tables, so the collector's queries are the same in both modes. They are
-- real-time (materialized_only = false): the buckets their policy has not
-- materialized yet are aggregated from raw rows at query time, as the
-- partitioned mode's rollups are refreshed after every tier.
--
-- The retention and compression intervals below are the defaults; at start
-- the collector replaces these policies with the configured ones
-- (store/partitions.ts applyTimescalePolicies).

DO $timescaledb$
BEGIN
  IF (SELECT mode FROM timeseries_storage) <> 'timescaledb' THEN
    RETURN;
  END IF;

  CREATE EXTENSION IF NOT EXISTS timescaledb;

  -- Daily chunks, like the partitioned mode's daily partitions. The tables
  -- already have their (…, ts) primary keys and ts indexes from 000001.
  PERFORM create_hypertable('agent_metrics', by_range('ts', INTERVAL '1 day'),
                            create_default_indexes => false, if_not_exists => true, migrate_data => true);
  PERFORM create_hypertable('service_status', by_range('ts', INTERVAL '1 day'),
                            create_default_indexes => false, if_not_exists => true, migrate_data => true);
  PERFORM create_hypertable('agent_polls', by_range('ts', INTERVAL '1 day'),
                            create_default_indexes => false, if_not_exists => true, migrate_data => true);

  EXECUTE $cagg$
    CREATE MATERIALIZED VIEW agent_metrics_5m
    WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
    SELECT agent_id,
           time_bucket(INTERVAL '5 minutes', ts) AS bucket,
           count(*) AS samples,
           avg(cpu_usage) AS cpu_usage_avg, min(cpu_usage) AS cpu_usage_min, max(cpu_usage) AS cpu_usage_max,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY cpu_usage) AS cpu_usage_p95,
           avg(memory_usage) AS memory_usage_avg, min(memory_usage) AS memory_usage_min, max(memory_usage) AS memory_usage_max,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY memory_usage) AS memory_usage_p95,
           avg(disk_usage) AS disk_usage_avg, min(disk_usage) AS disk_usage_min, max(disk_usage) AS disk_usage_max,
           avg(load_average_1m) AS load_average_1m_avg, min(load_average_1m) AS load_average_1m_min, max(load_average_1m) AS load_average_1m_max,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY load_average_1m) AS load_average_1m_p95,
           avg(load_average_5m) AS load_average_5m_avg, max(load_average_5m) AS load_average_5m_max,
           avg(load_average_15m) AS load_average_15m_avg, max(load_average_15m) AS load_average_15m_max,
           count(temperature) AS temperature_samples,
           avg(temperature) AS temperature_avg, min(temperature) AS temperature_min, max(temperature) AS temperature_max
    FROM agent_metrics
    GROUP BY agent_id, time_bucket(INTERVAL '5 minutes', ts)
    WITH NO DATA
  $cagg$;

  -- Built from raw rows, not from the 5 min aggregate: a p95 cannot be
  -- combined from p95s.
  EXECUTE $cagg$
    CREATE MATERIALIZED VIEW agent_metrics_1h
    WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
    SELECT agent_id,
           time_bucket(INTERVAL '1 hour', ts) AS bucket,
           count(*) AS samples,
           avg(cpu_usage) AS cpu_usage_avg, min(cpu_usage) AS cpu_usage_min, max(cpu_usage) AS cpu_usage_max,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY cpu_usage) AS cpu_usage_p95,
           avg(memory_usage) AS memory_usage_avg, min(memory_usage) AS memory_usage_min, max(memory_usage) AS memory_usage_max,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY memory_usage) AS memory_usage_p95,
           avg(disk_usage) AS disk_usage_avg, min(disk_usage) AS disk_usage_min, max(disk_usage) AS disk_usage_max,
           avg(load_average_1m) AS load_average_1m_avg, min(load_average_1m) AS load_average_1m_min, max(load_average_1m) AS load_average_1m_max,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY load_average_1m) AS load_average_1m_p95,
           avg(load_average_5m) AS load_average_5m_avg, max(load_average_5m) AS load_average_5m_max,
           avg(load_average_15m) AS load_average_15m_avg, max(load_average_15m) AS load_average_15m_max,
           count(temperature) AS temperature_samples,
           avg(temperature) AS temperature_avg, min(temperature) AS temperature_min, max(temperature) AS temperature_max
    FROM agent_metrics
    GROUP BY agent_id, time_bucket(INTERVAL '1 hour', ts)
    WITH NO DATA
  $cagg$;

  EXECUTE $cagg$
    CREATE MATERIALIZED VIEW service_status_1h
    WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
    SELECT agent_id, service_name,
           time_bucket(INTERVAL '1 hour', ts) AS bucket,
           count(*) AS samples,
           count(*) FILTER (WHERE status = 'running') AS running_samples,
           count(*) FILTER (WHERE status = 'stopped') AS stopped_samples,
           count(*) FILTER (WHERE status = 'error') AS error_samples,
           avg(cpu_percent) AS cpu_percent_avg, max(cpu_percent) AS cpu_percent_max,
           max(memory_bytes) AS memory_bytes_max
    FROM service_status
    GROUP BY agent_id, service_name, time_bucket(INTERVAL '1 hour', ts)
    WITH NO DATA
  $cagg$;

  EXECUTE $cagg$
    CREATE MATERIALIZED VIEW agent_polls_1h
    WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
    SELECT agent_id, tier,
           time_bucket(INTERVAL '1 hour', ts) AS bucket,
           count(*) AS polls,
           count(*) FILTER (WHERE ok) AS ok_polls,
           avg(duration_ms) AS duration_ms_avg, max(duration_ms) AS duration_ms_max
    FROM agent_polls
    GROUP BY agent_id, tier, time_bucket(INTERVAL '1 hour', ts)
    WITH NO DATA
  $cagg$;

  -- Refresh windows stay well inside the raw retention window, so a refresh
  -- never recomputes a bucket whose raw chunks were already dropped.
  PERFORM add_continuous_aggregate_policy('agent_metrics_5m',
    start_offset => INTERVAL '3 days', end_offset => INTERVAL '5 minutes', schedule_interval => INTERVAL '5 minutes');
  PERFORM add_continuous_aggregate_policy('agent_metrics_1h',
    start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '30 minutes');
  PERFORM add_continuous_aggregate_policy('service_status_1h',
    start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '30 minutes');
  PERFORM add_continuous_aggregate_policy('agent_polls_1h',
    start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '30 minutes');

  -- Retention: whole chunks dropped by TimescaleDB's job scheduler.
  PERFORM add_retention_policy('agent_metrics', drop_after => INTERVAL '30 days');
  PERFORM add_retention_policy('service_status', drop_after => INTERVAL '30 days');
  PERFORM add_retention_policy('agent_polls', drop_after => INTERVAL '30 days');
  PERFORM add_retention_policy('agent_metrics_5m', drop_after => INTERVAL '90 days');
  PERFORM add_retention_policy('agent_metrics_1h', drop_after => INTERVAL '365 days');
  PERFORM add_retention_policy('service_status_1h', drop_after => INTERVAL '365 days');
  PERFORM add_retention_policy('agent_polls_1h', drop_after => INTERVAL '365 days');

  -- Compression of chunks past the week, segmented by agent: a per-agent
  -- range scan reads one compressed segment per chunk.
  ALTER TABLE agent_metrics SET (timescaledb.compress,
    timescaledb.compress_segmentby = 'agent_id', timescaledb.compress_orderby = 'ts DESC');
  ALTER TABLE service_status SET (timescaledb.compress,
    timescaledb.compress_segmentby = 'agent_id, service_name', timescaledb.compress_orderby = 'ts DESC');
  ALTER TABLE agent_polls SET (timescaledb.compress,
    timescaledb.compress_segmentby = 'agent_id, tier', timescaledb.compress_orderby = 'ts DESC');
  PERFORM add_compression_policy('agent_metrics', compress_after => INTERVAL '7 days');
  PERFORM add_compression_policy('service_status', compress_after => INTERVAL '7 days');
  PERFORM add_compression_policy('agent_polls', compress_after => INTERVAL '7 days');
END
$timescaledb$;
