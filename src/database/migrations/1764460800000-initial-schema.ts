import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The five tables of the original specification, every documented column, default,
 * constraint and index, plus what docs/architecture.md needs (see README "Schema"):
 * parent executions, the slot key, leases, per-step state, the outbox and the
 * leadership term. Timestamps are timestamptz throughout. gen_random_uuid() is built
 * into PostgreSQL 13+ and PGlite, no extension needed.
 */
export class InitialSchema1764460800000 implements MigrationInterface {
  name = 'InitialSchema1764460800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE orchestrator_workflows (
        id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        workflow_name VARCHAR(255) NOT NULL UNIQUE,
        workflow_type VARCHAR(100) NOT NULL
          CONSTRAINT chk_workflows_type CHECK (workflow_type IN ('daily', 'weekly', 'monthly', 'hourly', 'on_demand')),
        description TEXT,
        cron_expression VARCHAR(100),
        timezone VARCHAR(50) DEFAULT 'Europe/Madrid',
        is_enabled BOOLEAN DEFAULT TRUE,
        max_execution_time_seconds INTEGER DEFAULT 3600,
        max_retries INTEGER DEFAULT 3,
        retry_delay_seconds INTEGER DEFAULT 300,
        steps JSONB NOT NULL,
        last_execution_at TIMESTAMPTZ,
        last_success_at TIMESTAMPTZ,
        last_failure_at TIMESTAMPTZ,
        next_execution_at TIMESTAMPTZ,
        consecutive_failures INTEGER DEFAULT 0,
        created_at TIMESTAMPTZ DEFAULT NOW(),
        updated_at TIMESTAMPTZ DEFAULT NOW(),
        -- additions: scheduling policy (docs/architecture.md guarantees 2 and 7)
        per_tenant_timezone BOOLEAN NOT NULL DEFAULT FALSE,
        calendar JSONB NOT NULL DEFAULT '{"country":"ES","region":"MD"}',
        holiday_policy VARCHAR(10) NOT NULL DEFAULT 'run'
          CONSTRAINT chk_workflows_holiday_policy CHECK (holiday_policy IN ('run', 'skip', 'shift')),
        weekend_policy VARCHAR(10) NOT NULL DEFAULT 'run'
          CONSTRAINT chk_workflows_weekend_policy CHECK (weekend_policy IN ('run', 'skip', 'shift')),
        catch_up_window_seconds INTEGER,
        overlap_policy VARCHAR(12) NOT NULL DEFAULT 'skip'
          CONSTRAINT chk_workflows_overlap_policy CHECK (overlap_policy IN ('skip', 'buffer_one', 'allow')),
        -- bumped on every definition change so a scheduler holding an old copy cannot claim with it
        version INTEGER NOT NULL DEFAULT 1
      )`);
    await q.query(
      `CREATE INDEX idx_workflows_enabled ON orchestrator_workflows (is_enabled, next_execution_at)`,
    );

    await q.query(`
      CREATE TABLE orchestrator_executions (
        id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        workflow_id UUID REFERENCES orchestrator_workflows(id),
        workflow_name VARCHAR(255) NOT NULL,
        execution_type VARCHAR(50) NOT NULL,
        triggered_by UUID,
        tenant_id UUID,
        status VARCHAR(50) DEFAULT 'pending'
          CONSTRAINT chk_executions_status
          CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled', 'skipped')),
        started_at TIMESTAMPTZ,
        completed_at TIMESTAMPTZ,
        duration_seconds INTEGER,
        steps_completed INTEGER DEFAULT 0,
        steps_total INTEGER DEFAULT 0,
        steps_failed INTEGER DEFAULT 0,
        error_message TEXT,
        result_summary JSONB,
        executed_by_instance VARCHAR(255),
        created_at TIMESTAMPTZ DEFAULT NOW(),
        -- additions (docs/architecture.md "From a slot to work")
        parent_execution_id UUID REFERENCES orchestrator_executions(id) ON DELETE CASCADE,
        scheduled_for TIMESTAMPTZ NOT NULL,
        retry_of_execution_id UUID REFERENCES orchestrator_executions(id),
        attempt INTEGER NOT NULL DEFAULT 1,
        next_attempt_at TIMESTAMPTZ,
        lease_owner VARCHAR(255),
        lease_expires_at TIMESTAMPTZ,
        leader_term BIGINT,
        priority INTEGER NOT NULL DEFAULT 0,
        updated_at TIMESTAMPTZ DEFAULT NOW()
      )`);
    await q.query(
      `CREATE INDEX idx_executions_workflow_date ON orchestrator_executions (workflow_id, created_at DESC)`,
    );
    await q.query(
      `CREATE INDEX idx_executions_tenant_date ON orchestrator_executions (tenant_id, created_at DESC)`,
    );
    await q.query(
      `CREATE INDEX idx_executions_status ON orchestrator_executions (status, started_at)`,
    );
    await q.query(
      `CREATE INDEX idx_executions_workflow_status ON orchestrator_executions (workflow_id, status)`,
    );
    // Guarantee 1: one execution per (workflow, slot, tenant); the parent has tenant NULL,
    // hence NULLS NOT DISTINCT. Manual retries are new rows linked to the original.
    await q.query(`
      CREATE UNIQUE INDEX uq_executions_slot
        ON orchestrator_executions (workflow_id, scheduled_for, tenant_id) NULLS NOT DISTINCT
        WHERE retry_of_execution_id IS NULL`);
    await q.query(
      `CREATE INDEX idx_executions_parent ON orchestrator_executions (parent_execution_id, status)`,
    );
    // the claim query's access path: runnable tenant work, highest priority first
    await q.query(`
      CREATE INDEX idx_executions_claimable
        ON orchestrator_executions (priority DESC, created_at)
        WHERE status IN ('pending', 'running') AND tenant_id IS NOT NULL`);

    await q.query(`
      CREATE TABLE orchestrator_execution_steps (
        execution_id UUID NOT NULL REFERENCES orchestrator_executions(id) ON DELETE CASCADE,
        step_name VARCHAR(255) NOT NULL,
        step_index INTEGER NOT NULL,
        status VARCHAR(20) NOT NULL DEFAULT 'pending'
          CONSTRAINT chk_steps_status
          CHECK (status IN ('pending', 'running', 'completed', 'failed', 'skipped', 'cancelled')),
        attempts INTEGER NOT NULL DEFAULT 0,
        result JSONB,
        error_message TEXT,
        started_at TIMESTAMPTZ,
        completed_at TIMESTAMPTZ,
        PRIMARY KEY (execution_id, step_name)
      )`);

    await q.query(`
      CREATE TABLE orchestrator_execution_logs (
        id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        execution_id UUID REFERENCES orchestrator_executions(id) ON DELETE CASCADE,
        step_name VARCHAR(255) NOT NULL,
        step_index INTEGER NOT NULL,
        log_level VARCHAR(50) NOT NULL
          CONSTRAINT chk_logs_level CHECK (log_level IN ('info', 'warning', 'error')),
        log_message TEXT NOT NULL,
        log_data JSONB,
        logged_at TIMESTAMPTZ DEFAULT NOW()
      )`);
    await q.query(
      `CREATE INDEX idx_execution_logs_execution ON orchestrator_execution_logs (execution_id, step_index)`,
    );

    await q.query(`
      CREATE TABLE orchestrator_leader (
        id INTEGER PRIMARY KEY DEFAULT 1,
        instance_id VARCHAR(255) NOT NULL,
        instance_hostname VARCHAR(255),
        became_leader_at TIMESTAMPTZ NOT NULL,
        last_heartbeat_at TIMESTAMPTZ NOT NULL,
        heartbeat_interval_seconds INTEGER DEFAULT 30,
        -- addition: fencing term, incremented on every acquisition
        term BIGINT NOT NULL DEFAULT 0,
        CONSTRAINT single_leader CHECK (id = 1)
      )`);

    await q.query(`
      CREATE TABLE orchestrator_metrics (
        id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        metric_date DATE NOT NULL,
        workflow_name VARCHAR(255),
        total_executions INTEGER DEFAULT 0,
        successful_executions INTEGER DEFAULT 0,
        failed_executions INTEGER DEFAULT 0,
        avg_duration_seconds INTEGER,
        min_duration_seconds INTEGER,
        max_duration_seconds INTEGER,
        success_rate_percentage DECIMAL(5, 2),
        avg_retry_count DECIMAL(5, 2),
        calculated_at TIMESTAMPTZ DEFAULT NOW(),
        UNIQUE (metric_date, workflow_name)
      )`);
    await q.query(`CREATE INDEX idx_metrics_date ON orchestrator_metrics (metric_date DESC)`);

    await q.query(`
      CREATE TABLE orchestrator_outbox (
        id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        exchange VARCHAR(255) NOT NULL,
        routing_key VARCHAR(255) NOT NULL,
        payload JSONB NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        available_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        sent_at TIMESTAMPTZ
      )`);
    await q.query(
      `CREATE INDEX idx_outbox_unsent ON orchestrator_outbox (available_at) WHERE sent_at IS NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'orchestrator_outbox',
      'orchestrator_metrics',
      'orchestrator_leader',
      'orchestrator_execution_logs',
      'orchestrator_execution_steps',
      'orchestrator_executions',
      'orchestrator_workflows',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
