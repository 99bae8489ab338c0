import { Injectable } from '@nestjs/common';
import { ProfileSearchRepository } from '@tessera/store';
import { encodeListingCursor } from './listing-cursor';
import type { ListingQuery } from './listing-query';
import { ProfileReads } from './profile-reads.port';
import type { ContactView, ProfileView, ReadScope } from './profile-view';
import { toContactView, toProfileView } from './profile-view.mapper';

/** A listing's answer (DESIGN §12). */
export interface ProfileListing {
  profiles: ProfileView[];
  total: number;
  limit: number;
  offset: number;
  next: string | null;
}

/** Profile ids are UUIDs, canonical in lower case; anything else names no profile. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Reads of the native API over the projection: profiles, contacts, listings (scoped by tenant, restrictions and customer). */
@Injectable()
export class ProfileReadsService extends ProfileReads {
  constructor(private readonly repository: ProfileSearchRepository) {
    super();
  }

  async getProfile(scope: ReadScope, id: string, customer?: string): Promise<ProfileView | undefined> {
    const key = id.toLowerCase();
    if (!UUID.test(key)) return undefined;
    const stored = await this.repository.findById({ ...scope, customer }, key);
    return stored && toProfileView(scope.tenant, stored);
  }

  async getContacts(scope: ReadScope, id: string): Promise<ContactView[] | undefined> {
    return (await this.getProfile(scope, id))?.contacts;
  }

  async getContact(scope: ReadScope, id: string, contactId: string): Promise<ContactView | undefined> {
    return (await this.getContacts(scope, id))?.find((c) => c.contact_id === contactId);
  }

  /** One page: `limit` + 1 rows are read, the extra one only says whether there is a next page. */
  async list(scope: ReadScope, query: ListingQuery, customer?: string): Promise<ProfileListing> {
    const { limit, offset } = query;
    if (query.matchesNothing) return { profiles: [], total: 0, limit, offset, next: null };
    const page = await this.repository.search({
      scope: { ...scope, customer },
      conditions: query.conditions,
      sort: query.sort,
      limit: limit + 1,
      offset: query.cursor ? 0 : offset,
      after: query.cursor?.after ?? null,
    });
    const rows = page.rows.slice(0, limit);
    const last = rows[rows.length - 1];
    const next = page.rows.length > limit ? encodeListingCursor({ after: last.sortKey, offset: offset + limit, binding: query.binding }) : null;
    return { profiles: rows.map((r) => toProfileView(scope.tenant, r)), total: page.total, limit, offset, next };
  }
}

