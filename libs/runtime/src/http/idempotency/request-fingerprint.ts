import { createHash } from 'node:crypto';

/**
 * A JSON value written one way only: object keys sorted (by UTF-16 code units), no whitespace, numbers
 * as JavaScript writes them. So `{"a":1,"b":2}` and `{ "b": 2, "a": 1.0 }` — the same parsed value —
 * give the same text. Iterative: a deeply nested body cannot overflow the stack.
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  // Work left to do, last first: a value to write, or punctuation already decided.
  const todo: Array<{ value: unknown } | string> = [{ value }];
  while (todo.length > 0) {
    const item = todo.pop()!;
    if (typeof item === 'string') {
      out.push(item);
      continue;
    }
    const v = item.value;
    if (v === null || typeof v !== 'object') {
      out.push(JSON.stringify(v) ?? 'null');
    } else if (Array.isArray(v)) {
      out.push('[');
      todo.push(']');
      for (let i = v.length - 1; i >= 0; i--) {
        todo.push({ value: v[i] });
        if (i > 0) todo.push(',');
      }
    } else {
      const record = v as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      out.push('{');
      todo.push('}');
      for (let i = keys.length - 1; i >= 0; i--) {
        todo.push({ value: record[keys[i]] });
        todo.push(`${JSON.stringify(keys[i])}:`);
        if (i > 0) todo.push(',');
      }
    }
  }
  return out.join('');
}

/**
 * What makes two requests "the same request" for `Idempotency-Key` (DESIGN §10): the route and the
 * parsed body, compared as JSON values. SHA-256, hex: the stored row holds no body.
 */
export function requestFingerprint(route: string, body: unknown): string {
  return createHash('sha256').update(route).update('\n').update(canonicalJson(body)).digest('hex');
}
