import {
  BadRequestException,
  INestApplication,
  RequestMethod,
  ValidationError,
  ValidationPipe,
} from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { hardenHttp, isSwaggerEnabled } from './auth/http-hardening';
import { describeSecurity } from './auth/openapi-security';
import { AppErrorFilter } from './common/errors/app-error.filter';
import { serveConsole } from './console/console-assets';
import { METRICS_JSON_PATH } from './metrics/metrics.routes';

/** Flattens class-validator's tree into `{ field: 'steps[2].name', message }` entries. */
function fieldProblems(
  errors: ValidationError[],
  prefix = '',
): { field: string; message: string }[] {
  return errors.flatMap((e) => {
    const field = /^\d+$/.test(e.property)
      ? `${prefix}[${e.property}]`
      : prefix
        ? `${prefix}.${e.property}`
        : e.property;
    const own = Object.values(e.constraints ?? {}).map((message) => ({
      field,
      message: e.constraints?.whitelistValidation ? `unknown field "${field}"` : message,
    }));
    return [...own, ...fieldProblems(e.children ?? [], field)];
  });
}

export const API_PREFIX = 'api/v1/orchestrator';

/** Everything main.ts and the e2e tests must configure the same way. */
export function configureApp(app: INestApplication): void {
  app.useLogger(app.get(Logger));
  hardenHttp(app);
  serveConsole(app);
  // Prometheus scrapes /metrics at the root, as every exporter does; the JSON rollups at
  // /api/v1/orchestrator/metrics declare their full path (see src/metrics/metrics.routes.ts)
  app.setGlobalPrefix(API_PREFIX, {
    exclude: [
      { path: 'metrics', method: RequestMethod.GET },
      { path: METRICS_JSON_PATH, method: RequestMethod.GET },
    ],
  });
  app.useGlobalFilters(new AppErrorFilter());
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      exceptionFactory: (errors) => {
        const details = fieldProblems(errors);
        return new BadRequestException({
          statusCode: 400,
          error: 'REQUEST_INVALID',
          message: details.map((d) => `${d.field}: ${d.message}`).join('; '),
          details,
        });
      },
    }),
  );
  if (isSwaggerEnabled(app)) {
    const document = SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('Bakery Orchestrator')
        .setDescription(
          'Schedules and runs the bakery platform daily, weekly and hourly workflows.',
        )
        .setVersion('1')
        .addBearerAuth()
        .build(),
    );
    describeSecurity(document);
    SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json' });
  }
}
