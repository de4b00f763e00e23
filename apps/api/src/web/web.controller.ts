import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Controller, Get, NotFoundException, Param, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '../access/roles.decorator';

/**
 * What the page may do, and nothing more: its own script, styles and icon, and fetch() to this api. No inline
 * script or style, no other origin, no framing, no form posting anywhere (the sign-in form is handled by the script,
 * so a key can never end up in a URL even if the script failed to load).
 */
export const WORKLIST_PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The page's files (apps/api/src/web/public; `npm run build` copies them next to the compiled controller). */
const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.mjs': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/** The little of Express's request and response this controller uses. */
interface HttpRequest {
  headers: Record<string, string | string[] | undefined>;
}
interface HttpResponse {
  status(code: number): HttpResponse;
  setHeader(name: string, value: string): unknown;
  end(body?: Buffer): unknown;
}

function loadAssets(dir: string): Map<string, Asset> {
  return new Map(
    Object.entries(FILES).map(([name, type]) => {
      const body = readFileSync(join(dir, name));
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
      return [name, { body, type, etag }];
    }),
  );
}

/**
 * The navigator's worklist page: static files at /app/, open without a key (they hold no data; the page asks for a
 * key and sends it to the api as a Bearer token). Not part of the API, so not in the OpenAPI document.
 */
@Public()
@ApiExcludeController()
@Controller('app')
export class WebController {
  private readonly assets = loadAssets(join(__dirname, 'public'));

  @Get()
  page(@Req() req: HttpRequest, @Res() res: HttpResponse): void {
    this.send('index.html', req, res);
  }

  @Get(':file')
  file(@Param('file') file: string, @Req() req: HttpRequest, @Res() res: HttpResponse): void {
    if (file === 'index.html' || !this.assets.has(file)) throw new NotFoundException();
    this.send(file, req, res);
  }

  private send(name: string, req: HttpRequest, res: HttpResponse): void {
    const asset = this.assets.get(name)!;
    res.setHeader('Content-Security-Policy', WORKLIST_PAGE_CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    // Revalidated on every load (a small request answered 304), so a release is picked up at once.
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('ETag', asset.etag);
    if (req.headers['if-none-match'] === asset.etag) {
      res.status(304).end();
      return;
    }
    res.setHeader('Content-Type', asset.type);
    res.status(200).end(asset.body);
  }
}
