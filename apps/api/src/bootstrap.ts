import { type INestApplication, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { appLogger, type PlatformOptions } from '@app/platform';
import { loadConfig } from '@app/config';
import { ApiModule } from './api.module';
import { QueuesDashboard } from './queues-dashboard/queues-dashboard';
import { ApiExceptionFilter, UntrustedShapePipe } from './security/errors';
import { applyBodyParsers, applyHttpProtections } from './security/http-security';

/**
 * Builds the HTTP app (used by main.ts, the demo and the tests): security headers, CORS, rate limits, body limits,
 * validation, one error format without stack traces, OpenAPI at /docs, shutdown hooks (docs/security.md).
 */
export async function createApiApp(options: PlatformOptions = {}): Promise<INestApplication> {
  const config = loadConfig(process.env, options.config);
  const app = await NestFactory.create<NestExpressApplication>(ApiModule.forRoot(options), {
    logger: appLogger('api', config),
    // every parser is registered below, on its routes and with its limit; raw bytes are kept for signatures
    bodyParser: false,
    rawBody: true,
  });
  // correlation ids, helmet, CORS, rate limits: before the queues board, which is Express middleware of its own
  applyHttpProtections(app, config);
  // Bull Board at /queues: Express middleware beside Nest's router, so it checks API keys itself (lead, admin)
  app.get(QueuesDashboard).mount(app);
  applyBodyParsers(app);
  app.useGlobalPipes(
    new UntrustedShapePipe(),
    new ValidationPipe({ transform: true, whitelist: true, forbidNonWhitelisted: true }),
  );
  app.useGlobalFilters(new ApiExceptionFilter());
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
