import { AppError } from 'src/common/errors/app-error';

export enum SchedulingErrorCode {
  Invalid = 'SCHEDULE_INVALID',
  NotFound = 'SCHEDULE_NOT_FOUND',
  TenantsUnavailable = 'SCHEDULE_TENANTS_UNAVAILABLE',
}

/** The scheduling module's caller errors; the global filter maps the code to the status. */
export class SchedulingError extends AppError<SchedulingErrorCode> {
  static invalid(details: { field: string; message: string }[]): SchedulingError {
    return new SchedulingError(
      SchedulingErrorCode.Invalid,
      details.map((d) => `${d.field}: ${d.message}`).join('; '),
      details,
    );
  }
}
