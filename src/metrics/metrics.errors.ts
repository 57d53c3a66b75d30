import { AppError } from 'src/common/errors/app-error';

export enum MetricsErrorCode {
  InvalidQuery = 'METRICS_INVALID_QUERY',
}

export class MetricsError extends AppError<MetricsErrorCode> {
  static invalid(field: string, message: string): MetricsError {
    return new MetricsError(MetricsErrorCode.InvalidQuery, `${field}: ${message}`, [
      { field, message },
    ]);
  }
}
