import type { Attributes } from '@tessera/identity';
import type { ProfileStatus } from '@tessera/contracts';

/** The system fields a native write may set (DESIGN §12); omitted = unchanged (patch) or default (create/replace). */
export interface ProfileFieldsInput {
  status?: ProfileStatus;
  tags?: string[];
  /** Plain text as received (8–128 characters): hashed (scrypt) before anything is produced. */
  password?: string;
  /** Seed 000: the customer account that owns the profile, and whether it is that customer's primary. */
  customer?: string;
  isPrimary?: boolean;
}

export type ProfileChangeCommand =
  /** attributes: raw, as a /v3 upsert's (identifiers included; at least one). */
  | ({ op: 'create'; tenant: string; attributes: Attributes } & ProfileFieldsInput)
  /** Attributes left out are cleared; status and tags replaced (defaults when omitted). */
  | ({ op: 'replace'; tenant: string; profileId: string; attributes: Attributes } & ProfileFieldsInput)
  /** Merges like an upsert. */
  | ({ op: 'patch'; tenant: string; profileId: string; attributes: Attributes } & ProfileFieldsInput)
  | { op: 'link-contact'; tenant: string; profileId: string; contact: { type: string; value: string } }
  /** `contactId`: the contact to unlink (see contactIdOf). */
  | { op: 'unlink-contact'; tenant: string; profileId: string; contactId: string }
  /** Unlinks `contactId` and links `contact` in one record (PUT/PATCH of a contact: the new value has its own id). */
  | { op: 'replace-contact'; tenant: string; profileId: string; contactId: string; contact: { type: string; value: string } };

export type ProfileWriteResult =
  /** Applied by the projection: `profileId` is the live profile now holding the change. */
  | { state: 'applied'; profileId: string; contactId?: string }
  /** Nothing changed: `field` (e.g. `attributes.email`, `value`) belongs to `ownerId`. */
  | { state: 'conflict'; field: string; ownerId: string; detail: string }
  /** The profile (or contact) does not exist (or was erased) when the change was applied. */
  | { state: 'not-found' }
  /** Refused before producing: e.g. an identifier that does not normalise. 422. */
  | { state: 'invalid'; errors: Array<{ field: string; message: string }> }
  /** Produced, but not applied within TESSERA_SYNC_WRITE_TIMEOUT_MS: 202 + Location. */
  | { state: 'pending'; recordId: string; profileId: string };

export type ProfileErasureResult = { state: 'erased' | 'pending'; requestId: string; profileId: string } | { state: 'not-found' };

/** Native writes (DESIGN §12): each a record on the log, answered once applied (read-your-writes). */
export abstract class ProfileWrites {
  abstract submit(command: ProfileChangeCommand): Promise<ProfileWriteResult>;
  /**
   * DELETE: the erasure of DESIGN §11 for the profile `id` leads to, answered once the projector has
   * applied it (erased) or, when TESSERA_SYNC_WRITE_TIMEOUT_MS runs out, pending; not-found when there is none.
   */
  abstract erase(tenant: string, profileId: string): Promise<ProfileErasureResult>;
}
