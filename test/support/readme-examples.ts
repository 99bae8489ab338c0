/**
 * The README's ```sh examples as data: every `curl` statement with the status (and body, where shown) the
 * comment under it documents. Conventions the README follows:
 *   # 202 {"title":"Accepted",…}      status, then the body (JSON may continue on `#   ` lines); `…` is a wildcard
 *   # 200 {"tenants":[…]}             `[…]` as a value: any array (its items are not checked)
 *   # 200 "COMPLETED"                 a JSON string body
 *   # 200 the same profile            the same body as the previous documented 200
 *   # (outage) …                      the following status line belongs to an outage example and is not run
 *   NAME=…   # …                      a value the test fills in (the example above produced it)
 */
export interface ReadmeExample {
  line: number;
  command: string;
  status: number;
  /** Parsed documented body, when the README shows one. */
  body?: unknown;
  sameAsPrevious?: boolean;
}

export interface ReadmeExamples {
  examples: ReadmeExample[];
  /** Variables the README assigns with a placeholder value, by line. */
  assignments: { line: number; name: string }[];
  outageSkipped: number;
}

const STATUS_LINE = /^#\s*(\d{3})\b\s*(.*)$/;

export function parseReadmeExamples(readme: string): ReadmeExamples {
  const lines = readme.split('\n');
  const result: ReadmeExamples = { examples: [], assignments: [], outageSkipped: 0 };
  let inSh = false;
  let pending: { line: number; command: string } | undefined;
  let outage = false;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i];
    if (/^```sh\s*$/.test(text)) {
      inSh = true;
      continue;
    }
    if (inSh && /^```/.test(text)) {
      if (pending) throw new Error(`README line ${pending.line}: a curl example without a documented status (add "# <status> …")`);
      inSh = false;
      continue;
    }
    if (!inSh) continue;
    const trimmed = text.trim();
    const status = STATUS_LINE.exec(trimmed);
    if (status) {
      let rest = status[2];
      while (i + 1 < lines.length && /^#\s{2,}\S/.test(lines[i + 1])) rest += ' ' + lines[++i].replace(/^#\s+/, '');
      if (outage) {
        result.outageSkipped++;
        outage = false;
        continue;
      }
      if (!pending) throw new Error(`README line ${i + 1}: "# ${status[1]}" follows no curl example (mark an outage example with "# (outage)")`);
      result.examples.push({ ...pending, status: Number(status[1]), ...documentedBody(rest, i + 1) });
      pending = undefined;
      continue;
    }
    if (trimmed.startsWith('#')) {
      if (/^#\s*\(outage\)/.test(trimmed)) outage = true;
      continue;
    }
    if (trimmed === '') continue;
    // A statement: continued by a trailing backslash or an open single quote.
    const start = i;
    let statement = text;
    while (i + 1 < lines.length && (/\\\s*$/.test(statement) || (statement.split("'").length - 1) % 2 === 1)) statement += '\n' + lines[++i];
    const assignment = /^([A-Z_][A-Z0-9_]*)=\S*…/.exec(statement.trim());
    if (assignment) result.assignments.push({ line: start + 1, name: assignment[1] });
    else if (/\bcurl\b/.test(statement)) {
      if (pending) throw new Error(`README line ${pending.line}: a curl example without a documented status`);
      pending = { line: start + 1, command: statement.replace(/\s+#[^'"\n]*$/, '') };
    }
  }
  return result;
}

function documentedBody(rest: string, line: number): Pick<ReadmeExample, 'body' | 'sameAsPrevious'> {
  if (/^the same profile\b/.test(rest)) return { sameAsPrevious: true };
  if (!/^[{["]/.test(rest)) return {};
  const end = jsonEnd(rest);
  try {
    // `[…]` in a value position stands for any array: parsed as the marker string ANY_ARRAY.
    return { body: JSON.parse(rest.slice(0, end).replace(/([:,[]\s*)\[…\]/g, `$1${JSON.stringify(ANY_ARRAY)}`)) };
  } catch (error) {
    throw new Error(`README line ${line}: the documented body is not JSON: ${(error as Error).message}`);
  }
}

/** Index just past the JSON value (object, array or string) that starts `text` (brackets outside strings). */
function jsonEnd(text: string): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') {
        inString = false;
        if (depth === 0) return i + 1; // a JSON string body
      }
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if ((c === '}' || c === ']') && --depth === 0) return i + 1;
  }
  return text.length;
}

/** What a documented `[…]` value parses to: any array matches it. */
const ANY_ARRAY = '[…]';

/** Where `actual` differs from the documented shape: same keys, same values, `…` matching anything. */
export function bodyMismatches(documented: unknown, actual: unknown, path = '$'): string[] {
  if (documented === ANY_ARRAY) return Array.isArray(actual) ? [] : [`${path}: ${JSON.stringify(actual)} is not an array`];
  if (typeof documented === 'string' && documented.includes('…')) {
    const pattern = new RegExp(`^${documented.split('…').map(escapeRegExp).join('[\\s\\S]*')}$`);
    return typeof actual === 'string' && pattern.test(actual) ? [] : [`${path}: ${JSON.stringify(actual)} does not match "${documented}"`];
  }
  if (Array.isArray(documented)) {
    if (!Array.isArray(actual) || actual.length !== documented.length) return [`${path}: ${JSON.stringify(actual)} is not an array of ${documented.length}`];
    return documented.flatMap((d, i) => bodyMismatches(d, actual[i], `${path}[${i}]`));
  }
  if (documented !== null && typeof documented === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return [`${path}: ${JSON.stringify(actual)} is not an object`];
    const want = Object.keys(documented).sort();
    const got = Object.keys(actual).sort();
    if (want.join() !== got.join()) return [`${path}: keys ${got.join(', ')}; documented ${want.join(', ')}`];
    return want.flatMap((k) => bodyMismatches((documented as Record<string, unknown>)[k], (actual as Record<string, unknown>)[k], `${path}.${k}`));
  }
  return documented === actual ? [] : [`${path}: ${JSON.stringify(actual)}, documented ${JSON.stringify(documented)}`];
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
