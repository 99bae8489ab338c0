import { Injectable } from '@nestjs/common';
import type { OpenApiDocument } from './openapi-document';

/** The app's OpenAPI document, generated once at start-up (after every controller is known). */
@Injectable()
export class OpenApiDocumentHolder {
  private current?: { document: OpenApiDocument; json: string };

  set(document: OpenApiDocument): void {
    this.current = { document, json: JSON.stringify(document) };
  }

  get document(): OpenApiDocument | undefined {
    return this.current?.document;
  }

  /** The serialised document (serialised once: it never changes while the app runs). */
  get json(): string | undefined {
    return this.current?.json;
  }
}
