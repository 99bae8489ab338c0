import { Injectable } from '@nestjs/common';
import type { OpenApiDocument } from './openapi-document';

type Logger = { debug(obj: object, msg: string): void; error(obj: object, msg: string): void };

/**
 * The app's OpenAPI document, generated from its controllers once, on first request: generating it
 * takes about half a second of CPU (the swagger scanner), which no start-up should pay for a page
 * few processes ever serve. The result (or the failure) is kept for the life of the process.
 */
@Injectable()
export class OpenApiDocumentHolder {
  private generate?: () => OpenApiDocument;
  private logger?: Logger;
  private current?: { document: OpenApiDocument; json: string } | { failed: true };

  /** Called by `createHttpApp` once every controller of the app is known. */
  generateWith(generate: () => OpenApiDocument, logger?: Logger): void {
    this.generate = generate;
    this.logger = logger;
    this.current = undefined;
  }

  /** Sets a ready document (tests). */
  set(document: OpenApiDocument): void {
    this.current = { document, json: JSON.stringify(document) };
  }

  get document(): OpenApiDocument | undefined {
    const current = this.resolve();
    return current && 'document' in current ? current.document : undefined;
  }

  /** The serialised document (serialised once: it never changes while the app runs). */
  get json(): string | undefined {
    const current = this.resolve();
    return current && 'json' in current ? current.json : undefined;
  }

  private resolve() {
    if (this.current || !this.generate) return this.current;
    const started = performance.now();
    try {
      const document = this.generate();
      this.set(document);
      this.logger?.debug({ paths: Object.keys(document.paths).length, ms: Math.round(performance.now() - started) }, 'OpenAPI document generated');
    } catch (error) {
      this.current = { failed: true };
      this.logger?.error({ err: error }, 'OpenAPI document could not be generated: /openapi.json answers 503');
    }
    return this.current;
  }
}
