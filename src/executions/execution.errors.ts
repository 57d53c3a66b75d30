import { AppError } from 'src/common/errors/app-error';

export enum ExecutionErrorCode {
  NotFound = 'EXECUTION_NOT_FOUND',
  Invalid = 'EXECUTION_INVALID',
  Conflict = 'EXECUTION_CONFLICT',
  TenantsUnavailable = 'EXECUTION_TENANTS_UNAVAILABLE',
}

export class ExecutionError extends AppError<ExecutionErrorCode> {
  static notFound(id: string): ExecutionError {
    return new ExecutionError(
      ExecutionErrorCode.NotFound,
      `Execution "${id}" not found; use GET /api/v1/orchestrator/executions to list them`,
    );
  }
}
