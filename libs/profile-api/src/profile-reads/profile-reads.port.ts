import type { ContactView, ProfileView, ReadScope } from './profile-view';

/**
 * Reads of the native API (DESIGN §12), implemented in this folder (ProfileReadsService) and used by
 * the write routes to answer with what the projection now holds. Nest injection token: the class.
 */
export abstract class ProfileReads {
  /** The live profile (a merged-away id answers with its survivor); undefined: unknown, erased, or outside the scope's restrictions. */
  abstract getProfile(scope: ReadScope, id: string): Promise<ProfileView | undefined>;
  /** One contact of the live profile `id` leads to; undefined when either is unknown. */
  abstract getContact(scope: ReadScope, id: string, contactId: string): Promise<ContactView | undefined>;
}
