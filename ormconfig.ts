// For the TypeORM CLI (`npx typeorm-ts-node-commonjs -d ormconfig.ts migration:show`).
// The service itself builds the same options in src/database/data-source.ts.
import 'reflect-metadata';
import 'tsconfig-paths/register';
import { DataSource } from 'typeorm';
import { validateEnv } from './src/config/validate-env';
import { buildDataSourceOptions } from './src/database/data-source';

export default new DataSource(buildDataSourceOptions(validateEnv(process.env)));
