import { Module } from '@nestjs/common';
import { PeriodicJobsModule } from '../jobs/periodic-jobs.module';
import { IdempotencyRepository } from './idempotency.repository';
import { IdempotencyService } from './idempotency.service';

/** Idempotency-Key for command routes (docs/idempotency.md). Needs the data source. */
@Module({
  imports: [PeriodicJobsModule],
  providers: [IdempotencyRepository, IdempotencyService],
  exports: [IdempotencyService],
})
export class IdempotencyModule {}
