import { INestApplication, RequestMethod, ValidationPipe } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';

export const API_PREFIX = 'api/v1/orchestrator';

/** Everything main.ts and the e2e tests must configure the same way. */
export function configureApp(app: INestApplication): void {
  app.useLogger(app.get(Logger));
  // Prometheus scrapes /metrics at the root, as every exporter does
  app.setGlobalPrefix(API_PREFIX, { exclude: [{ path: 'metrics', method: RequestMethod.GET }] });
  app.useGlobalPipes(
    new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }),
  );
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Bakery Orchestrator')
      .setDescription('Schedules and runs the bakery platform daily, weekly and hourly workflows.')
      .setVersion('1')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json' });
}
