import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { PeriodicJobsModule } from 'src/common/jobs/periodic-jobs.module';
import { AppConfig } from 'src/config/app-config.service';
import { buildDataSourceOptions } from './data-source';
import { ControlDatabase } from './control-database';
import { DatabaseClock } from './database-clock';
import { DatabaseProbe } from './database.probe';

@Global()
@Module({
  imports: [
    PeriodicJobsModule,
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        ...buildDataSourceOptions({
          DATABASE_URL: config.get('DATABASE_URL'),
          DATA_DIR: config.get('DATA_DIR'),
          DATABASE_POOL_SIZE: config.get('DATABASE_POOL_SIZE'),
          DATABASE_STATEMENT_TIMEOUT_MS: config.get('DATABASE_STATEMENT_TIMEOUT_MS'),
          DATABASE_LOCK_TIMEOUT_MS: config.get('DATABASE_LOCK_TIMEOUT_MS'),
          DATABASE_IDLE_TX_TIMEOUT_MS: config.get('DATABASE_IDLE_TX_TIMEOUT_MS'),
          DATABASE_ACQUIRE_TIMEOUT_MS: config.get('DATABASE_ACQUIRE_TIMEOUT_MS'),
        }),
        migrationsRun: config.get('RUN_MIGRATIONS'),
        // fail fast at boot instead of TypeORM's default of retrying for half a minute
        retryAttempts: 1,
        retryDelay: 500,
      }),
    }),
  ],
  providers: [ControlDatabase, DatabaseProbe, DatabaseClock],
  exports: [ControlDatabase, DatabaseProbe, DatabaseClock],
})
export class DatabaseModule {}
