import { type INestApplication, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { logLevels, type PlatformOptions } from '@app/platform';
import { loadConfig } from '@app/config';
import { ApiModule } from './api.module';

/** Builds the HTTP app (used by main.ts, the demo and the tests): validation, OpenAPI at /docs, shutdown hooks. */
export async function createApiApp(options: PlatformOptions = {}): Promise<INestApplication> {
  const config = loadConfig(process.env, options.config);
  const app = await NestFactory.create(ApiModule.forRoot(options), { logger: logLevels(config.LOG_LEVEL) });
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
