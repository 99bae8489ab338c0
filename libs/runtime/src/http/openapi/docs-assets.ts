import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The interactive page's files: swagger-ui from the installed `swagger-ui-dist` (no CDN: works offline). */
export const DOCS_PATH = '/docs';
export const OPENAPI_JSON_PATH = '/openapi.json';

const DIST_FILES = ['swagger-ui.css', 'index.css', 'swagger-ui-bundle.js', 'favicon-32x32.png', 'favicon-16x16.png'] as const;
const INITIALIZER = 'swagger-initializer.js';
export const DOCS_ASSET_NAMES: readonly string[] = [...DIST_FILES, INITIALIZER];

export interface DocsAsset {
  contentType: string;
  body: Buffer;
}

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
};

/** Loads the UI from /openapi.json; no validator badge (it would call an online service). */
const INITIALIZER_JS = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '${OPENAPI_JSON_PATH}',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    tryItOutEnabled: false,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
});
`;

export const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Tessera API</title>
  <link rel="stylesheet" href="${DOCS_PATH}/swagger-ui.css">
  <link rel="stylesheet" href="${DOCS_PATH}/index.css">
  <link rel="icon" type="image/png" href="${DOCS_PATH}/favicon-32x32.png" sizes="32x32">
  <link rel="icon" type="image/png" href="${DOCS_PATH}/favicon-16x16.png" sizes="16x16">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${DOCS_PATH}/swagger-ui-bundle.js"></script>
  <script src="${DOCS_PATH}/${INITIALIZER}"></script>
</body>
</html>
`;

/** The page's own scripts and styles only; swagger-ui sets inline styles, and renders data: images. */
export const DOCS_CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

let cache: Map<string, DocsAsset> | undefined;

function distDir(): string {
  return dirname(require.resolve('swagger-ui-dist/package.json'));
}

/** The assets, read once (about 1.5 MB, mostly the bundle). */
export function docsAssets(): ReadonlyMap<string, DocsAsset> {
  if (cache) return cache;
  const dir = distDir();
  const assets = new Map<string, DocsAsset>();
  for (const name of DIST_FILES) assets.set(name, { contentType: CONTENT_TYPES[name.slice(name.lastIndexOf('.'))], body: readFileSync(join(dir, name)) });
  assets.set(INITIALIZER, { contentType: CONTENT_TYPES['.js'], body: Buffer.from(INITIALIZER_JS) });
  cache = assets;
  return assets;
}
