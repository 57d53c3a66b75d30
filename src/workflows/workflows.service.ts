import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { OperationRegistry } from 'src/clients/operation-registry';
import { validateCalendar } from 'src/common/time/calendar';
import { validateCron, validateTimezone } from 'src/common/time/cron-time';
import { AppConfig } from 'src/config/app-config.service';
import { Transaction } from 'src/database/transaction';
import { builtInWorkflows } from './catalogue/built-in-workflows';
import { ScheduleFieldsDto, UpdateWorkflowDto } from './dto/workflow.dto';
import { FieldProblem, validateSteps } from './steps/step-graph';
import { StepDefinition, WorkflowEntity } from './workflow.entity';
import { WorkflowError } from './workflow.errors';
import { toWorkflowView, WorkflowView } from './workflow.view';
import { WorkflowsRepository } from './workflows.repository';

export type ScheduleUpdate = ScheduleFieldsDto & { workflow: string };

const SCHEDULE_FIELDS = {
  cron_expression: 'cronExpression',
  timezone: 'timezone',
  per_tenant_timezone: 'perTenantTimezone',
  calendar: 'calendar',
  holiday_policy: 'holidayPolicy',
  weekend_policy: 'weekendPolicy',
  catch_up_window_seconds: 'catchUpWindowSeconds',
  overlap_policy: 'overlapPolicy',
} as const;

const OTHER_FIELDS = {
  description: 'description',
  max_execution_time_seconds: 'maxExecutionTimeSeconds',
  max_retries: 'maxRetries',
  retry_delay_seconds: 'retryDelaySeconds',
  steps: 'steps',
} as const;

/** Fields whose change moves the next slot: the scheduler recomputes it from scratch. */
const TIMING_FIELDS = new Set(['cronExpression', 'timezone', 'perTenantTimezone', 'isEnabled']);

/**
 * Facade of the workflows module: the only writer of orchestrator_workflows.
 * Every write is validated whole before anything is stored.
 */
@Injectable()
export class WorkflowsService implements OnApplicationBootstrap {
  private readonly logger = new Logger(WorkflowsService.name);

  constructor(
    private readonly repository: WorkflowsRepository,
    private readonly config: AppConfig,
    private readonly operations: OperationRegistry,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const created = await this.repository.insertMissing(
      builtInWorkflows({
        DAILY_WORKFLOW_CRON: this.config.get('DAILY_WORKFLOW_CRON'),
        WEEKLY_WORKFLOW_CRON: this.config.get('WEEKLY_WORKFLOW_CRON'),
        DEFAULT_TIMEZONE: this.config.get('DEFAULT_TIMEZONE'),
        MAX_WORKFLOW_DURATION_SECONDS: this.config.get('MAX_WORKFLOW_DURATION_SECONDS'),
      }),
    );
    if (created.length > 0)
      this.logger.log({ msg: 'installed built-in workflows', workflows: created });
  }

  async list(): Promise<WorkflowView[]> {
    return (await this.listAll()).map(toWorkflowView);
  }

  /** Every definition as stored, by name (the scheduler's GET /schedule). */
  listAll(): Promise<WorkflowEntity[]> {
    return this.repository.list();
  }

  async get(idOrName: string): Promise<WorkflowEntity> {
    const workflow = await this.repository.findByIdOrName(idOrName);
    if (!workflow) throw WorkflowError.notFound(idOrName);
    return workflow;
  }

  async view(idOrName: string): Promise<WorkflowView> {
    return toWorkflowView(await this.get(idOrName));
  }

  async update(
    idOrName: string,
    dto: UpdateWorkflowDto,
  ): Promise<{ before: WorkflowView; after: WorkflowView }> {
    return this.repository.transaction(async (tx) => {
      const current = await this.lockOrThrow(idOrName, tx);
      const changes = this.changesFrom(dto, '');
      const after = await this.apply(tx, current, changes);
      return { before: toWorkflowView(current), after: toWorkflowView(after) };
    });
  }

  async setEnabled(
    idOrName: string,
    enabled: boolean,
  ): Promise<{ before: WorkflowView; after: WorkflowView }> {
    return this.repository.transaction(async (tx) => {
      const current = await this.lockOrThrow(idOrName, tx);
      const after =
        current.isEnabled === enabled
          ? current
          : await this.apply(tx, current, { isEnabled: enabled });
      return { before: toWorkflowView(current), after: toWorkflowView(after) };
    });
  }

  /** PUT /schedule: every update validated first, then all stored in one transaction or none. */
  async updateSchedules(
    updates: ScheduleUpdate[],
  ): Promise<{ before: WorkflowView; after: WorkflowView }[]> {
    return this.repository.transaction(async (tx) => {
      const problems: FieldProblem[] = [];
      const planned: { current: WorkflowEntity; changes: Partial<WorkflowEntity> }[] = [];
      for (const [i, update] of updates.entries()) {
        const current = await this.repository.findByIdOrNameForUpdate(update.workflow, tx);
        if (!current) {
          problems.push({
            field: `workflows[${i}].workflow`,
            message: `workflow "${update.workflow}" not found`,
          });
          continue;
        }
        try {
          planned.push({ current, changes: this.changesFrom(update, `workflows[${i}].`) });
        } catch (err) {
          if (err instanceof WorkflowError && err.details) problems.push(...err.details);
          else throw err;
        }
      }
      if (problems.length > 0) throw WorkflowError.invalid(problems);
      const results = [];
      for (const { current, changes } of planned) {
        results.push({
          before: toWorkflowView(current),
          after: toWorkflowView(await this.apply(tx, current, changes)),
        });
      }
      return results;
    });
  }

  /** Definitions by id, for the runners (one query per claimed batch). */
  async getMany(ids: string[]): Promise<Map<string, WorkflowEntity>> {
    const rows = await this.repository.findByIds(ids);
    return new Map(rows.map((w) => [w.id, w]));
  }

  listSchedulable(): Promise<WorkflowEntity[]> {
    return this.repository.listSchedulable();
  }

  /**
   * Claims a due slot (by the database clock, fenced by the term) and runs `handOver` in
   * the same transaction: the claim commits only with what it hands over.
   */
  claimSlot<T>(
    args: { workflowId: string; slot: Date; next: Date | null; term: string },
    handOver: (tx: Transaction) => Promise<T>,
  ): Promise<{ claimed: true; value: T } | { claimed: false }> {
    return this.repository.claimSlot(args, handOver);
  }

  initNextExecution(
    workflowId: string,
    next: Date | null,
    expectedVersion: number,
  ): Promise<boolean> {
    return this.repository.initNextExecution(workflowId, next, expectedVersion);
  }

  /** Called by the engine in the transaction that completes a run. */
  recordRunOutcome(
    tx: Transaction,
    workflowId: string,
    outcome: 'completed' | 'failed',
    at: Date,
  ): Promise<void> {
    return this.repository.recordRunOutcome(tx, workflowId, outcome, at);
  }

  /** The DAG, the operation names the registry knows, and each step's params. */
  private validateStepList(steps: StepDefinition[]): FieldProblem[] {
    const problems = validateSteps(steps, this.operations.names());
    if (problems.length > 0 || !this.operations.validateParams) return problems;
    return steps.flatMap((step, i) =>
      this.operations.validateParams!(step.operation, step.params ?? {}).map((message) => ({
        field: `steps[${i}].params`,
        message,
      })),
    );
  }

  private async lockOrThrow(idOrName: string, tx: Transaction): Promise<WorkflowEntity> {
    const current = await this.repository.findByIdOrNameForUpdate(idOrName, tx);
    if (!current) throw WorkflowError.notFound(idOrName);
    return current;
  }

  private async apply(tx: Transaction, current: WorkflowEntity, changes: Partial<WorkflowEntity>) {
    if (Object.keys(changes).some((k) => TIMING_FIELDS.has(k))) changes.nextExecutionAt = null;
    return this.repository.saveChanges(tx, current.id, changes);
  }

  /** Maps API fields to entity fields and checks what class-validator cannot. */
  private changesFrom(
    dto: UpdateWorkflowDto | ScheduleFieldsDto,
    prefix: string,
  ): Partial<WorkflowEntity> {
    const changes: Record<string, unknown> = {};
    for (const [api, field] of Object.entries({ ...SCHEDULE_FIELDS, ...OTHER_FIELDS })) {
      const value = (dto as Record<string, unknown>)[api];
      if (value !== undefined) changes[field] = value;
    }
    const problems: FieldProblem[] = [];
    // the scheduler's own checks, so nothing is saved that it would refuse to schedule
    const cron = changes.cronExpression as string | null | undefined;
    const cronProblem = cron === undefined || cron === null ? null : validateCron(cron);
    if (cronProblem) problems.push({ field: `${prefix}cron_expression`, message: cronProblem });
    const timezone = changes.timezone as string | undefined;
    const zoneProblem = timezone === undefined ? null : validateTimezone(timezone);
    if (zoneProblem) problems.push({ field: `${prefix}timezone`, message: zoneProblem });
    if (changes.calendar !== undefined) {
      const calendarProblem = validateCalendar(changes.calendar);
      if (calendarProblem) {
        const field = calendarProblem.field ? `calendar.${calendarProblem.field}` : 'calendar';
        problems.push({ field: `${prefix}${field}`, message: calendarProblem.message });
      }
    }
    const steps = changes.steps as StepDefinition[] | undefined;
    if (steps !== undefined) {
      problems.push(
        ...this.validateStepList(steps).map((p) => ({ ...p, field: `${prefix}${p.field}` })),
      );
      // stored without undefined keys so the JSON stays what the caller sent
      changes.steps = JSON.parse(JSON.stringify(steps));
    }
    if (problems.length > 0) throw WorkflowError.invalid(problems);
    return changes as Partial<WorkflowEntity>;
  }
}
