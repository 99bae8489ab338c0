/**
 * `?phone=+15558675309` sent without percent-encoding: the query parser reads the `+` as a space
 * (form encoding), so the value arrives as " 15558675309". Read in the tenant's default region those
 * digits could name another number (+44… would become a US number), so when the raw URL shows a literal
 * `+` at the start of the value, the look-up uses the `+` the client meant. `%2B` (the README's advice)
 * needs no help, and an encoded space (`%20`) is left alone.
 */
export function restoreUnencodedPlus(url: string, name: string, decoded: string): string {
  if (!decoded.startsWith(' ')) return decoded;
  const q = url.indexOf('?');
  if (q < 0) return decoded;
  const prefix = `${name}=+`;
  for (const pair of url.slice(q + 1).split('&')) {
    if (pair.startsWith(prefix)) return `+${decoded.slice(1)}`;
  }
  return decoded;
}
