import { type INestApplication, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { appLogger, type PlatformOptions } from '@app/platform';
import { loadConfig } from '@app/config';
import { MAX_HL7_MESSAGE_BYTES } from '@app/interop';
import { ApiModule } from './api.module';
import { HL7_MEDIA_TYPES } from './interop/hl7.controller';
import { QueuesDashboard } from './queues-dashboard/queues-dashboard';

/** Builds the HTTP app (used by main.ts, the demo and the tests): validation, OpenAPI at /docs, shutdown hooks. */
export async function createApiApp(options: PlatformOptions = {}): Promise<INestApplication> {
  const config = loadConfig(process.env, options.config);
  const app = await NestFactory.create<NestExpressApplication>(ApiModule.forRoot(options), {
    logger: appLogger('api', config),
  });
  // Bull Board at /queues: Express middleware beside Nest's router, so it checks API keys itself (lead, admin)
  app.get(QueuesDashboard).mount(app);
  // HL7 v2 arrives as text (POST /hl7/v2); the limit is the largest message the intake takes
  app.useBodyParser('text', { type: HL7_MEDIA_TYPES, limit: MAX_HL7_MESSAGE_BYTES });
  // FHIR clients send application/fhir+json; a pathology Bundle can exceed the default 100 kB
  app.useBodyParser('json', { type: ['application/json', 'application/fhir+json'], limit: MAX_HL7_MESSAGE_BYTES });
  app.useGlobalPipes(new ValidationPipe({ transform: true, whitelist: true, forbidNonWhitelisted: true }));
  app.enableShutdownHooks();
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Sarcoma care pathway')
      .setDescription(
        'Clinical events in; patient pathway state, tasks, timeline and dead letters out. Contract: docs/events.md',
      )
      .setVersion('1')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An API key (also accepted as X-Api-Key)' })
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
  return app;
}
