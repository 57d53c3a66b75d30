import { AppError } from 'src/common/errors/app-error';

export enum WorkflowErrorCode {
  NotFound = 'WORKFLOW_NOT_FOUND',
  Invalid = 'WORKFLOW_INVALID',
  Conflict = 'WORKFLOW_CONFLICT',
}

export class WorkflowError extends AppError<WorkflowErrorCode> {
  static notFound(idOrName: string): WorkflowError {
    return new WorkflowError(
      WorkflowErrorCode.NotFound,
      `Workflow "${idOrName}" not found; use GET /api/v1/orchestrator/workflows to list them`,
    );
  }

  static invalid(details: { field: string; message: string }[]): WorkflowError {
    return new WorkflowError(
      WorkflowErrorCode.Invalid,
      `Invalid workflow: ${details.map((d) => `${d.field}: ${d.message}`).join('; ')}`,
      details,
    );
  }
}
