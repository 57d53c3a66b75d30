import { ExecutionsRepository } from 'src/executions/executions.repository';
import {
  OpenedDataSource,
  openPgliteDataSource,
  openPostgresDataSource,
} from '../../utils/data-sources';
import { describeWith } from '../../utils/services';

const RUN = '00000000-0000-4000-8000-000000000001';
const OTHER_RUN = '00000000-0000-4000-8000-000000000002';
const NOW = new Date('2026-12-07T06:00:00Z');
const PAST = new Date('2026-12-07T05:00:00Z');
const LATER = new Date('2026-12-07T07:00:00Z');
const EARLIER_SLOT = new Date('2026-12-06T05:00:00Z');

/**
 * The dispatcher's sweep cancels tenant work still pending when its run's deadline
 * (`deadline_at`, from max_execution_time_seconds) has passed, and names the runs touched so
 * they can be closed. What is running is left to the process running it (it aborts at the
 * deadline itself); the sweep's index holds pending tenant work only.
 */
function overdueSweep(open: () => Promise<OpenedDataSource>) {
  let opened: OpenedDataSource;
  let repository: ExecutionsRepository;

  beforeAll(async () => {
    opened = await open();
    repository = new ExecutionsRepository(opened.ds);
  });

  afterAll(async () => {
    await opened?.close();
  });

  async function insert(
    id: string,
    parent: string | null,
    status: string,
    deadline: Date,
    tenant: string | null,
  ) {
    await opened.ds.query(
      `INSERT INTO orchestrator_executions
         (id, workflow_name, execution_type, tenant_id, status, scheduled_for, parent_execution_id,
          deadline_at, lease_owner, lease_expires_at)
       VALUES ($1, 'daily_operations', 'scheduled', $2, $3, $4, $5, $6, $7, $8)`,
      [
        id,
        tenant,
        status,
        // each run its own slot (one run per workflow and slot)
        (parent ?? id) === RUN ? PAST : EARLIER_SLOT,
        parent,
        deadline,
        status === 'running' ? 'instance-a' : null,
        status === 'running' ? LATER : null,
      ],
    );
  }

  it('cancels overdue pending tenant work, names its run, and leaves the rest alone', async () => {
    await insert(RUN, null, 'running', PAST, null);
    await insert(OTHER_RUN, null, 'running', LATER, null);
    const tenant = (n: number) => `00000000-0000-4000-8000-0000000000${n}0`;
    const row = (n: number) => `10000000-0000-4000-8000-00000000000${n}`;
    await insert(row(1), RUN, 'pending', PAST, tenant(1)); // overdue: cancelled
    await insert(row(2), RUN, 'pending', PAST, tenant(2)); // overdue: cancelled
    await insert(row(3), RUN, 'running', PAST, tenant(3)); // its process stops it
    await insert(row(4), RUN, 'completed', PAST, tenant(4)); // done before the deadline
    await insert(row(5), OTHER_RUN, 'pending', LATER, tenant(5)); // not due yet

    expect(await repository.cancelOverdue(NOW)).toEqual([RUN]);

    const rows: { id: string; status: string; error_message: string | null; done: boolean }[] =
      await opened.ds.query(
        `SELECT id, status, error_message, completed_at IS NOT NULL AS done
           FROM orchestrator_executions WHERE tenant_id IS NOT NULL ORDER BY id`,
      );
    const message =
      'cancelled: the run exceeded its max_execution_time_seconds before this tenant finished';
    expect(rows).toEqual([
      { id: row(1), status: 'cancelled', error_message: message, done: true },
      { id: row(2), status: 'cancelled', error_message: message, done: true },
      { id: row(3), status: 'running', error_message: null, done: false },
      { id: row(4), status: 'completed', error_message: null, done: false },
      { id: row(5), status: 'pending', error_message: null, done: false },
    ]);
    // the runs themselves are the completer's to close
    const runs = await opened.ds.query(
      `SELECT status FROM orchestrator_executions WHERE tenant_id IS NULL ORDER BY id`,
    );
    expect(runs).toEqual([{ status: 'running' }, { status: 'running' }]);

    // a second sweep finds nothing more
    expect(await repository.cancelOverdue(NOW)).toEqual([]);
  });
}

describeWith(['postgres'], 'overdue sweep on PostgreSQL', () => {
  overdueSweep(() => openPostgresDataSource());
});

describe('overdue sweep on embedded PGlite', () => {
  overdueSweep(() => openPgliteDataSource('orch-overdue-'));
});
