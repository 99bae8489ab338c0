/**
 * Seed 004's restrictions: a restricted key reads only profiles whose `restriction` attribute is one of
 * its restrictions — a profile without one is outside every restriction. `null`: unrestricted.
 */
export function restrictionAllows(restrictions: readonly string[] | null | undefined, attributes: Readonly<Record<string, unknown>>): boolean {
  if (restrictions === null || restrictions === undefined) return true;
  const restriction = attributes.restriction;
  return typeof restriction === 'string' && restrictions.includes(restriction);
}
