import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { INestApplication } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';

/** Where the console is served; the start-up message and the README link here. */
export const CONSOLE_PATH = '/console';

/**
 * The console's files (src/console/public, copied to dist/console/public by nest-cli.json
 * `assets`). They are public like any login page: everything they show comes from the API,
 * which needs the bearer token the page keeps in sessionStorage.
 */
export const CONSOLE_ASSETS_DIR = join(__dirname, 'public');

/**
 * Serves the console from this process (no second server, no CDN). The files are plain
 * ES modules and a stylesheet loaded from the same origin, so helmet's default
 * Content-Security-Policy (script-src 'self', no inline script) applies unchanged.
 * `no-cache` makes a browser revalidate, so a deploy is seen at the next load.
 */
export function serveConsole(app: INestApplication): void {
  if (!existsSync(join(CONSOLE_ASSETS_DIR, 'index.html'))) {
    throw new Error(
      `the console's files are missing from ${CONSOLE_ASSETS_DIR}: run "npm run build" (nest-cli.json copies src/console/public)`,
    );
  }
  (app as NestExpressApplication).useStaticAssets(CONSOLE_ASSETS_DIR, {
    prefix: CONSOLE_PATH,
    index: 'index.html',
    redirect: true,
    fallthrough: true,
    dotfiles: 'deny',
    setHeaders: (res) => {
      res.setHeader('Cache-Control', 'no-cache');
    },
  });
}
