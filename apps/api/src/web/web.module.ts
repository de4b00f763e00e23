import { Module } from '@nestjs/common';
import { WebController } from './web.controller';

/** The navigator's worklist page (docs/worklist-page.md): static files served by the api at /app/. */
@Module({ controllers: [WebController] })
export class WebModule {}
