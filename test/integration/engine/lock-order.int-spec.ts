import { Client } from 'pg';
import { ExecutionsRepository, FinalState } from 'src/executions/executions.repository';
import { waitUntil } from '../../utils/wait';
import { OpenedDataSource, openPostgresDataSource } from '../../utils/data-sources';
import { describeWith } from '../../utils/services';

const OWNER = 'lock-order-instance';
// byte order of uuids is the order of their lowercase text
const LOW = '00000000-0000-4000-8000-000000000001';
const HIGH = 'ffffffff-0000-4000-8000-000000000002';

function finalOf(id: string): FinalState {
  return {
    id,
    owner: OWNER,
    status: 'completed',
    completedAt: new Date(),
    durationSeconds: 1,
    stepsCompleted: 6,
    stepsFailed: 0,
    errorMessage: null,
    resultSummary: {},
    attempt: 1,
    nextAttemptAt: null,
  };
}

/**
 * The group commit's final states and the lease renewals lock the same tenant executions;
 * both take their row locks in id order, so they cannot deadlock. Seen before the order was
 * fixed: one group commit at 50,000 tenants failed with `deadlock detected` and 53 tenants
 * re-called steps after their lease ran out.
 */
describeWith(['postgres'], 'tenant execution row locks are taken in one order', () => {
  let opened: OpenedDataSource;
  let repository: ExecutionsRepository;
  let other: Client;

  beforeAll(async () => {
    opened = await openPostgresDataSource();
    repository = new ExecutionsRepository(opened.ds);
    other = new Client({ connectionString: (opened.ds.options as { url?: string }).url });
    await other.connect();
  });

  afterAll(async () => {
    await other?.end();
    await opened?.close();
  });

  beforeEach(async () => {
    await opened.ds.query(`DELETE FROM orchestrator_executions`);
    for (const [id, tenant] of [
      [LOW, '00000000-0000-4000-8000-0000000000aa'],
      [HIGH, '00000000-0000-4000-8000-0000000000bb'],
    ]) {
      await opened.ds.query(
        `INSERT INTO orchestrator_executions
           (id, workflow_name, execution_type, tenant_id, status, scheduled_for, lease_owner,
            lease_expires_at, started_at)
         VALUES ($1, 'daily_operations', 'scheduled', $2, 'running', now(), $3,
                 now() + interval '1 minute', now())`,
        [id, tenant, OWNER],
      );
    }
  });

  /** Waits until the repository's statement is blocked on a row lock held by `other`. */
  async function blockedOnLock(): Promise<void> {
    const otherPid = (await other.query(`SELECT pg_backend_pid() AS pid`)).rows[0].pid;
    await waitUntil(async () => {
      const rows = await other.query(
        `SELECT 1 FROM pg_stat_activity
          WHERE wait_event_type = 'Lock' AND $1 = ANY(pg_blocking_pids(pid))`,
        [otherPid],
      );
      return rows.rowCount! > 0;
    });
  }

  it('a group commit listing the higher id first waits for the lower one before locking any', async () => {
    // a renewal-like transaction holds the lower id
    await other.query('BEGIN');
    await other.query(`SET LOCAL lock_timeout = '5s'`);
    await other.query(`SELECT id FROM orchestrator_executions WHERE id = $1 FOR NO KEY UPDATE`, [
      LOW,
    ]);
    const commit = repository.writeState([], [], [finalOf(HIGH), finalOf(LOW)]);
    await blockedOnLock();
    // had the commit locked HIGH first (its listed order), this would deadlock
    await expect(
      other.query(`SELECT id FROM orchestrator_executions WHERE id = $1 FOR NO KEY UPDATE`, [HIGH]),
    ).resolves.toMatchObject({ rowCount: 1 });
    await other.query('COMMIT');
    expect([...(await commit)].sort()).toEqual([LOW, HIGH]);
    const rows = await opened.ds.query(`SELECT status FROM orchestrator_executions ORDER BY id`);
    expect(rows.map((r: { status: string }) => r.status)).toEqual(['completed', 'completed']);
  });

  it('a lease renewal listing the higher id first waits for the lower one before locking any', async () => {
    await other.query('BEGIN');
    await other.query(`SET LOCAL lock_timeout = '5s'`);
    await other.query(`SELECT id FROM orchestrator_executions WHERE id = $1 FOR NO KEY UPDATE`, [
      LOW,
    ]);
    const renewal = repository.renewLeases(OWNER, [HIGH, LOW], 60_000);
    await blockedOnLock();
    await expect(
      other.query(`SELECT id FROM orchestrator_executions WHERE id = $1 FOR NO KEY UPDATE`, [HIGH]),
    ).resolves.toMatchObject({ rowCount: 1 });
    await other.query('COMMIT');
    expect([...(await renewal)].sort()).toEqual([LOW, HIGH]);
  });
});
