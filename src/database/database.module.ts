import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from 'src/config/app-config.service';
import { buildDataSourceOptions } from './data-source';
import { DatabaseClock } from './database-clock';
import { DatabaseProbe } from './database.probe';

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        ...buildDataSourceOptions({
          DATABASE_URL: config.get('DATABASE_URL'),
          DATA_DIR: config.get('DATA_DIR'),
        }),
        migrationsRun: config.get('RUN_MIGRATIONS'),
        // fail fast at boot instead of TypeORM's default of retrying for half a minute
        retryAttempts: 1,
        retryDelay: 500,
      }),
    }),
  ],
  providers: [DatabaseProbe, DatabaseClock],
  exports: [DatabaseProbe, DatabaseClock],
})
export class DatabaseModule {}
