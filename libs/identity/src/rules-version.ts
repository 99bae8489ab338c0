/**
 * Version of the rules that turn records into projections (identifier normalisation, resolution,
 * merges). Bump it whenever a change would make a replay build different profiles from the same log:
 * projections are stamped with it, and a start on projections built under another version warns that
 * a replay is needed instead of silently mixing old and new identities.
 *
 *  1 — until issue 8 (before projections were stamped; stored as "no version")
 *  2 — issue 8: `zaius_id` must name an existing profile; anonymous profiles merge into known people
 *  3 — issue 9: phones normalised to E.164 with the tenant's default region
 *  4 — issue 11: `username` is a default identifier type (high, one per profile), so an upsert's
 *      `username` attribute now links and may merge; identifier-unlink records (native contacts API)
 */
export const RULES_VERSION = 4;
