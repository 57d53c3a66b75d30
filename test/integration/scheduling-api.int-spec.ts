import { SchedulerRegistry } from '@nestjs/schedule';
import { PeriodicJobs } from 'src/common/jobs/periodic-jobs';
import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { LoggerModule } from 'nestjs-pino';
import request from 'supertest';
import { configureApp } from 'src/app.setup';
import { IdempotencyRepository } from 'src/common/idempotency/idempotency.repository';
import { IdempotencyService } from 'src/common/idempotency/idempotency.service';
import { Clock } from 'src/common/time/clock';
import { ConfigModule } from 'src/config/config.module';
import { validateEnv } from 'src/config/validate-env';
import { ScheduleController } from 'src/scheduling/schedule.controller';
import { ScheduleService } from 'src/scheduling/schedule.service';
import {
  ScheduleExecutions,
  ScheduleTenants,
  ScheduleWorkflows,
} from 'src/scheduling/scheduling.ports';
import {
  FakeClock,
  FakeScheduleTenants,
  InMemoryScheduleExecutions,
  InMemoryScheduleWorkflows,
  scheduledWorkflow,
  tenant,
} from '../fakes/scheduling.fakes';
import { SchedulerSettings } from 'src/scheduling/workflow-scheduler.service';

/**
 * The schedule API over HTTP with the production pipes and error filter (configureApp),
 * on in-memory facades: what is validated, what reaches the workflows facade, the shapes.
 */
describe('schedule API', () => {
  let app: INestApplication;
  let workflows: InMemoryScheduleWorkflows;
  let executions: InMemoryScheduleExecutions;
  let tenants: FakeScheduleTenants;
  let clock: FakeClock;
  const DAILY = '00000000-0000-4000-8000-000000000001';
  const WEEKLY = '00000000-0000-4000-8000-000000000002';
  const T1 = '10000000-0000-4000-8000-000000000001';
  const T2 = '10000000-0000-4000-8000-000000000002';

  beforeAll(async () => {
    workflows = new InMemoryScheduleWorkflows();
    executions = new InMemoryScheduleExecutions();
    tenants = new FakeScheduleTenants([
      tenant(T1, 'Europe/Madrid', { country: 'ES', region: 'MD' }),
      tenant(T2, 'Atlantic/Canary', { country: 'ES', region: 'CN' }),
    ]);
    clock = new FakeClock(new Date('2026-01-05T06:00:00Z'));
    const moduleRef = await Test.createTestingModule({
      imports: [
        ConfigModule.forRoot(validateEnv({})),
        LoggerModule.forRoot({ pinoHttp: { level: 'silent' } }),
      ],
      controllers: [ScheduleController],
      providers: [
        ScheduleService,
        { provide: ScheduleWorkflows, useValue: workflows },
        { provide: ScheduleExecutions, useValue: executions },
        { provide: ScheduleTenants, useValue: tenants },
        { provide: Clock, useValue: clock },
        // requests here carry no Idempotency-Key, so the key table is never reached
        {
          provide: IdempotencyService,
          useValue: new IdempotencyService(
            {} as IdempotencyRepository,
            new PeriodicJobs(new SchedulerRegistry()),
          ),
        },
        { provide: SchedulerSettings, useValue: new SchedulerSettings({ autoStart: false }) },
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    configureApp(app);
    await app.init();
  });

  afterAll(async () => {
    await app?.close();
  });

  beforeEach(() => {
    workflows.rows.clear();
    workflows.updates = [];
    executions.byKey.clear();
    clock.set('2026-01-05T06:00:00Z');
    workflows.add(
      scheduledWorkflow({
        id: DAILY,
        workflowName: 'daily_operations',
        holidayPolicy: 'shift',
        weekendPolicy: 'skip',
        nextExecutionAt: new Date('2026-01-05T07:00:00Z'),
      }),
    );
    workflows.add(
      scheduledWorkflow({
        id: WEEKLY,
        workflowName: 'weekly_digest',
        cronExpression: '0 9 * * 1',
        isEnabled: false,
      }),
    );
  });

  const api = () => request(app.getHttpServer());
  const put = (body: unknown) =>
    api()
      .put('/api/v1/orchestrator/schedule')
      .send(body as object);
  const fieldsOf = (body: { details?: { field: string }[] }) => [
    ...new Set((body.details ?? []).map((d) => d.field)),
  ];

  describe('GET /schedule', () => {
    it('lists each workflow with its policies, next run and last run', async () => {
      await executions.recordSkippedSlot({
        workflowId: DAILY,
        scheduledFor: new Date('2026-01-04T07:00:00Z'),
        reason: 'Sunday, weekend',
        leaderTerm: '1',
      });
      const res = await api().get('/api/v1/orchestrator/schedule').expect(200);
      expect(res.body).toHaveLength(2);
      const daily = res.body.find(
        (e: { workflow_name: string }) => e.workflow_name === 'daily_operations',
      );
      expect(daily).toMatchObject({
        workflow_id: DAILY,
        is_enabled: true,
        cron_expression: '0 8 * * *',
        timezone: 'Europe/Madrid',
        calendar: { country: 'ES', region: 'MD' },
        holiday_policy: 'shift',
        weekend_policy: 'skip',
        overlap_policy: 'skip',
        catch_up_window_seconds: null,
        effective_catch_up_window_seconds: 21600,
        next_execution_at: '2026-01-05T07:00:00.000Z',
        next_run: { at: '2026-01-05T07:00:00.000Z', local: '2026-01-05T08:00:00+01:00' },
        last_status: 'skipped',
        last_run: { scheduled_for: '2026-01-04T07:00:00.000Z', status: 'skipped' },
      });
      const weekly = res.body.find(
        (e: { workflow_name: string }) => e.workflow_name === 'weekly_digest',
      );
      expect(weekly).toMatchObject({
        is_enabled: false,
        next_run: null,
        last_run: null,
        last_status: null,
      });
    });
  });

  describe('PUT /schedule', () => {
    it('passes valid updates to the workflows facade and answers the new schedule', async () => {
      const res = await put({
        workflows: [
          {
            workflow: 'daily_operations',
            cron_expression: '30 7 * * 1-5',
            timezone: 'Atlantic/Canary',
            calendar: { country: 'ES', region: 'CN' },
            holiday_policy: 'skip',
            weekend_policy: 'run',
            catch_up_window_seconds: 3600,
            overlap_policy: 'buffer_one',
            per_tenant_timezone: false,
          },
          { workflow: WEEKLY, catch_up_window_seconds: null },
        ],
      }).expect(200);
      expect(workflows.updates).toEqual([
        [
          {
            workflow: 'daily_operations',
            cron_expression: '30 7 * * 1-5',
            timezone: 'Atlantic/Canary',
            calendar: { country: 'ES', region: 'CN' },
            holiday_policy: 'skip',
            weekend_policy: 'run',
            catch_up_window_seconds: 3600,
            overlap_policy: 'buffer_one',
            per_tenant_timezone: false,
          },
          { workflow: WEEKLY, catch_up_window_seconds: null },
        ],
      ]);
      expect(res.body.map((e: { workflow_name: string }) => e.workflow_name).sort()).toEqual([
        'daily_operations',
        'weekly_digest',
      ]);
    });

    it.each([
      ['an invalid cron', { cron_expression: '0 25 * * *' }, 'workflows[0].cron_expression'],
      ['a seconds cron', { cron_expression: '0 0 8 * * *' }, 'workflows[0].cron_expression'],
      ['an unknown timezone', { timezone: 'Europe/Madird' }, 'workflows[0].timezone'],
      ['an unknown country', { calendar: { country: 'XX' } }, 'workflows[0].calendar.country'],
      [
        'an unknown region',
        { calendar: { country: 'ES', region: 'ZZ' } },
        'workflows[0].calendar.region',
      ],
      ['a bad holiday policy', { holiday_policy: 'postpone' }, 'workflows[0].holiday_policy'],
      ['a bad weekend policy', { weekend_policy: 'maybe' }, 'workflows[0].weekend_policy'],
      ['a bad overlap policy', { overlap_policy: 'queue' }, 'workflows[0].overlap_policy'],
      [
        'a negative catch-up window',
        { catch_up_window_seconds: -1 },
        'workflows[0].catch_up_window_seconds',
      ],
      ['an unknown field', { color: 'blue' }, 'workflows[0].color'],
      ['no field to change', {}, 'workflows[0]'],
    ])('refuses %s with 400 naming the field, storing nothing', async (_title, change, field) => {
      const res = await put({ workflows: [{ workflow: 'daily_operations', ...change }] }).expect(
        400,
      );
      expect(fieldsOf(res.body)).toContain(field);
      expect(workflows.updates).toEqual([]);
    });

    it('refuses the whole request when one of several updates is invalid', async () => {
      const res = await put({
        workflows: [
          { workflow: 'daily_operations', cron_expression: '0 7 * * *' },
          { workflow: 'weekly_digest', timezone: 'Nowhere/City' },
        ],
      }).expect(400);
      expect(fieldsOf(res.body)).toEqual(['workflows[1].timezone']);
      expect(workflows.updates).toEqual([]);
    });

    it('refuses a workflow listed twice', async () => {
      const res = await put({
        workflows: [
          { workflow: 'daily_operations', cron_expression: '0 7 * * *' },
          { workflow: 'daily_operations', timezone: 'UTC' },
        ],
      }).expect(400);
      expect(fieldsOf(res.body)).toEqual(['workflows[1].workflow']);
    });

    it('refuses an empty list', async () => {
      const res = await put({ workflows: [] }).expect(400);
      expect(fieldsOf(res.body)).toEqual(['workflows']);
    });
  });

  describe('GET /schedule/next-run', () => {
    it('answers the next slots of a workflow by name, skipped ones left out, shifted ones explained', async () => {
      const res = await api()
        .get('/api/v1/orchestrator/schedule/next-run')
        .query({ workflow: 'daily_operations', count: 4 })
        .expect(200);
      expect(res.body).toEqual([
        {
          workflow: 'daily_operations',
          workflow_id: DAILY,
          timezone: 'Europe/Madrid',
          slots: [
            { at: '2026-01-05T07:00:00.000Z', local: '2026-01-05T08:00:00+01:00' },
            {
              at: '2026-01-07T07:00:00.000Z',
              local: '2026-01-07T08:00:00+01:00',
              reason: 'Epiphany, national holiday: shifted from 2026-01-06T08:00:00+01:00',
            },
            { at: '2026-01-08T07:00:00.000Z', local: '2026-01-08T08:00:00+01:00' },
            { at: '2026-01-09T07:00:00.000Z', local: '2026-01-09T08:00:00+01:00' },
          ],
        },
      ]);
    });

    it('answers every enabled workflow without ?workflow, 5 slots by default', async () => {
      const res = await api().get('/api/v1/orchestrator/schedule/next-run').expect(200);
      expect(res.body.map((w: { workflow: string }) => w.workflow)).toEqual(['daily_operations']);
      expect(res.body[0].slots).toHaveLength(5);
    });

    it('accepts 400 slots', async () => {
      const res = await api()
        .get('/api/v1/orchestrator/schedule/next-run')
        .query({ workflow: DAILY, count: 400 })
        .expect(200);
      expect(res.body[0].slots).toHaveLength(400);
    });

    it.each([['0'], ['401'], ['ten']])('refuses count=%s naming count', async (count) => {
      const res = await api()
        .get('/api/v1/orchestrator/schedule/next-run')
        .query({ count })
        .expect(400);
      expect(fieldsOf(res.body)).toEqual(['count']);
    });

    it('answers 404 for an unknown workflow', async () => {
      const res = await api()
        .get('/api/v1/orchestrator/schedule/next-run')
        .query({ workflow: 'nope' })
        .expect(404);
      expect(res.body.error).toBe('WORKFLOW_NOT_FOUND');
    });
  });

  describe('POST /workflows/{id}/backfill', () => {
    const backfill = (body: object, id = 'daily_operations') =>
      api().post(`/api/v1/orchestrator/workflows/${id}/backfill`).send(body);

    it('creates a run per past slot, oldest first, calendar applied, once however often called', async () => {
      clock.set('2026-01-12T12:00:00Z');
      const body = { from: '2026-01-08T00:00:00Z', to: '2026-01-12T23:00:00Z' };
      // to is in the future
      expect(fieldsOf((await backfill(body).expect(400)).body)).toEqual(['to']);

      const first = await backfill({ ...body, to: '2026-01-12T12:00:00Z' }).expect(201);
      // Sat 10 and Sun 11 are skipped by the weekend policy
      expect(
        first.body.slots.map((s: { scheduled_for: string; outcome: string }) => [
          s.scheduled_for,
          s.outcome,
        ]),
      ).toEqual([
        ['2026-01-08T07:00:00.000Z', 'started'],
        ['2026-01-09T07:00:00.000Z', 'started'],
        ['2026-01-12T07:00:00.000Z', 'started'],
      ]);
      expect(executions.runs.map((r) => r.executionType)).toEqual([
        'backfill',
        'backfill',
        'backfill',
      ]);

      const again = await backfill({ ...body, to: '2026-01-12T12:00:00Z' }).expect(201);
      expect(again.body).toMatchObject({ started: 0, duplicates: 3 });
      expect(executions.runs).toHaveLength(3);
    });

    it('runs only the given tenants', async () => {
      clock.set('2026-01-12T12:00:00Z');
      await backfill({
        from: '2026-01-09T00:00:00Z',
        to: '2026-01-09T23:00:00Z',
        tenant_ids: [T2],
      }).expect(201);
      expect(executions.runs.map((r) => r.tenantFilter)).toEqual([{ tenantIds: [T2] }]);
    });

    it.each([
      ['to before from', { from: '2026-01-09T00:00:00Z', to: '2026-01-08T00:00:00Z' }, ['to']],
      ['a date that is not ISO 8601', { from: 'yesterday', to: '2026-01-08T00:00:00Z' }, ['from']],
      [
        'an unknown tenant',
        {
          from: '2026-01-08T00:00:00Z',
          to: '2026-01-09T00:00:00Z',
          tenant_ids: ['10000000-0000-4000-8000-000000000009'],
        },
        ['tenant_ids[0]'],
      ],
      [
        'a tenant id that is no UUID',
        { from: '2026-01-08T00:00:00Z', to: '2026-01-09T00:00:00Z', tenant_ids: ['t1'] },
        ['tenant_ids'],
      ],
    ])('refuses %s with 400 naming the field', async (_title, body, fields) => {
      clock.set('2026-01-12T12:00:00Z');
      const res = await backfill(body).expect(400);
      expect(fieldsOf(res.body)).toEqual(fields);
      expect(executions.byKey.size).toBe(0);
    });

    it('refuses a range with more slots than one call may create', async () => {
      workflows.add(
        scheduledWorkflow({
          id: WEEKLY,
          workflowName: 'weekly_digest',
          cronExpression: '* * * * *',
        }),
      );
      clock.set('2026-01-12T12:00:00Z');
      const res = await backfill(
        { from: '2026-01-10T00:00:00Z', to: '2026-01-12T00:00:00Z' },
        'weekly_digest',
      ).expect(400);
      expect(fieldsOf(res.body)).toEqual(['from']);
    });

    it('answers 404 for an unknown workflow', async () => {
      const res = await backfill(
        { from: '2026-01-08T00:00:00Z', to: '2026-01-09T00:00:00Z' },
        'nope',
      ).expect(404);
      expect(res.body.error).toBe('WORKFLOW_NOT_FOUND');
    });
  });
});
