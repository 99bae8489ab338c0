import { Injectable, Optional } from '@nestjs/common';
import { contactIdOf } from '@tessera/contracts';
import { ProblemException } from '@tessera/runtime';
import type { ContactView, ProfileView, ReadScope } from '../profile-reads/profile-view';
import { ProfileReads } from '../profile-reads/profile-reads.port';
import { ProfileChangeCommand, ProfileWriteResult, ProfileWrites } from '../profile-writes/profile-writes.port';
import type { ContactInput } from './profile-body';

/** What a write route answers: status, `Location` and body (DESIGN §12). */
export interface WriteAnswer<T = unknown> {
  status: 200 | 201 | 202 | 204;
  location?: string;
  body?: T;
}

export interface PendingBody {
  id: string;
  contact_id?: string;
  /** A pending erasure: its GDPR request id (status at the `Location`). */
  request_id?: string;
  status: 'pending';
}

/** Restrictions limit reads, not writes (DESIGN §12): the answer to a write reads with the tenant's whole view. */
export const writerScope = (tenant: string): ReadScope => ({ tenant, restrictions: null });

export const profilePath = (id: string) => `/api/v1/profiles/${id}`;
export const contactPath = (id: string, contactId: string) => `/api/v1/profiles/${id}/contacts/${contactId}`;
export const erasureStatusPath = (requestId: string) => `/v3/compliance/gdpr/status/${requestId}`;

/**
 * Submits native writes through the `ProfileWrites` port and turns the outcome into the HTTP answer:
 * applied → the profile (or contact) as the projection now holds it; conflict → 409 naming the owner;
 * not-found → 404; invalid → 422; pending (not applied within the wait) → 202 with `Location`.
 */
@Injectable()
export class ProfileWriteAnswers {
  private readonly writes: ProfileWrites;
  private readonly reads: ProfileReads;

  // Optional so an app without the write side (a build where its module is not wired yet) still boots: its routes answer 503.
  constructor(@Optional() writes?: ProfileWrites, @Optional() reads?: ProfileReads) {
    this.writes = writes ?? unavailable<ProfileWrites>('profile writes');
    this.reads = reads ?? unavailable<ProfileReads>('profile reads');
  }

  /**
   * A create, replace or patch; then links `contacts` the profile does not hold yet (a create's extra
   * contacts, a PUT's listed ones). `created`: 201 with `Location`, else 200.
   */
  async profileWrite(
    command: Extract<ProfileChangeCommand, { op: 'create' | 'replace' | 'patch' }>,
    contacts: readonly ContactInput[],
    answer: { created: boolean; locationOf: (id: string) => string },
  ): Promise<WriteAnswer<ProfileView | PendingBody>> {
    const result = await this.writes.submit(command);
    if (result.state !== 'applied') return this.notApplied(result, answer.locationOf);
    const profileId = result.profileId;
    let view = await this.readProfile(command.tenant, profileId);
    const held = new Set(view.contacts.map((c) => c.contact_id));
    const missing = contacts.filter((c) => !held.has(contactIdOf(command.tenant, c.type, c.value)));
    for (const contact of missing) {
      const linked = await this.writes.submit({ op: 'link-contact', tenant: command.tenant, profileId, contact });
      // A create's extra contact taken meanwhile: the profile exists (with its other identifiers); say so.
      if (linked.state === 'conflict' && answer.created) {
        throw new ProblemException(409, `${conflictDetail(linked, contact)}; profile ${profileId} was created without it`, { headers: { Location: answer.locationOf(profileId) } });
      }
      if (linked.state !== 'applied') return this.notApplied(linked, answer.locationOf, undefined, contact);
    }
    if (missing.length) view = await this.readProfile(command.tenant, profileId);
    return answer.created ? { status: 201, location: answer.locationOf(view.id), body: view } : { status: 200, body: view };
  }

  /** POST a contact (link), PUT/PATCH one (replace: the new value has its own id): 201 / 200 with the contact. */
  async contactWrite(
    command: Extract<ProfileChangeCommand, { op: 'link-contact' | 'replace-contact' }>,
    created: boolean,
  ): Promise<WriteAnswer<ContactView | PendingBody>> {
    const result = await this.writes.submit(command);
    const contactId = contactIdOf(command.tenant, command.contact.type, command.contact.value);
    if (result.state !== 'applied') return this.notApplied(result, (id) => contactPath(id, contactId), contactId, command.contact);
    const id = result.contactId ?? contactId;
    const contact = await this.reads.getContact(writerScope(command.tenant), result.profileId, id);
    // Applied, then gone (an erasure or an unlink raced it): nothing to show.
    if (!contact) throw ProblemException.notFound(`the contact ${id} of profile ${result.profileId} no longer exists`);
    return created ? { status: 201, location: contactPath(result.profileId, id), body: contact } : { status: 200, body: contact };
  }

  /** DELETE of a contact: 204 once unlinked. */
  async contactDelete(tenant: string, profileId: string, contactId: string): Promise<WriteAnswer> {
    const result = await this.writes.submit({ op: 'unlink-contact', tenant, profileId, contactId });
    if (result.state === 'applied') return { status: 204 };
    if (result.state === 'not-found') throw ProblemException.notFound(`no contact ${contactId} on profile ${profileId}`);
    return this.notApplied(result, (id) => contactPath(id, contactId), contactId);
  }

  /** DELETE of a profile: the erasure of DESIGN §11; 204 once applied, else 202 with the erasure's status URL. */
  async erase(tenant: string, profileId: string): Promise<WriteAnswer<PendingBody>> {
    const result = await this.writes.erase(tenant, profileId);
    if (result.state === 'not-found') throw ProblemException.notFound(`no profile with id ${profileId}`);
    if (result.state === 'erased') return { status: 204 };
    return { status: 202, location: erasureStatusPath(result.requestId), body: { id: result.profileId, status: 'pending', request_id: result.requestId } };
  }

  /** The profile with the tenant's whole view (a profile outside the caller's restrictions included). */
  async readProfile(tenant: string, profileId: string): Promise<ProfileView> {
    const view = await this.reads.getProfile(writerScope(tenant), profileId);
    if (!view) throw ProblemException.notFound(`no profile with id ${profileId}`);
    return view;
  }

  /** A contact of the profile `profileId` leads to, with the tenant's whole view; 404 when either is unknown. */
  async readContact(tenant: string, profileId: string, contactId: string): Promise<ContactView> {
    const contact = await this.reads.getContact(writerScope(tenant), profileId, contactId);
    if (!contact) throw ProblemException.notFound(`no contact ${contactId} on profile ${profileId}`);
    return contact;
  }

  private notApplied(
    result: Exclude<ProfileWriteResult, { state: 'applied' }>,
    locationOf: (id: string) => string,
    contactId?: string,
    contact?: ContactInput,
  ): WriteAnswer<PendingBody> {
    switch (result.state) {
      case 'pending':
        return { status: 202, location: locationOf(result.profileId), body: { id: result.profileId, ...(contactId ? { contact_id: contactId } : {}), status: 'pending' } };
      case 'conflict':
        throw new ProblemException(409, conflictDetail(result, contact));
      case 'not-found':
        throw ProblemException.notFound('no such profile (unknown, or erased)');
      case 'invalid':
        throw ProblemException.validation(result.errors);
    }
  }
}

/** A stand-in for a port no module provides: every call is a 503. */
function unavailable<T extends object>(what: string): T {
  return new Proxy({} as T, {
    get: () => () => Promise.reject(new ProblemException(503, `${what} are not available in this process`, { headers: { 'Retry-After': '5' } })),
  });
}

/** 409's `detail`: the field and the id of the profile that holds it, whatever the port's wording. */
export function conflictDetail(result: Extract<ProfileWriteResult, { state: 'conflict' }>, contact?: ContactInput): string {
  const what = contact ? `the contact ${contact.type} ${JSON.stringify(contact.value)}` : `\`${result.field}\``;
  const base = result.detail || `${what} already belongs to profile ${result.ownerId}`;
  const withField = base.includes(result.field) ? base : `\`${result.field}\`: ${base}`;
  return withField.includes(result.ownerId) ? withField : `${withField} (it belongs to profile ${result.ownerId})`;
}
