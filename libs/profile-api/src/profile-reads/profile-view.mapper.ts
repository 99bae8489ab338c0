import { contactIdOf, splitSystemAttributes } from '@tessera/contracts';
import type { StoredContact, StoredProfile } from '@tessera/store';
import type { ContactView, ProfileView } from './profile-view';

/** The contact object of DESIGN §12: one identifier row of the profile. */
export function toContactView(tenant: string, c: StoredContact): ContactView {
  return { contact_id: contactIdOf(tenant, c.type, c.value), key: c.type, value: c.value, created_at: c.firstSeen, updated_at: c.lastSeen };
}

/** The profile object of DESIGN §12: system fields lifted out of the stored attributes; `customer`/`is_primary` only on a customer's profile. */
export function toProfileView(tenant: string, p: StoredProfile): ProfileView {
  const { attributes, system } = splitSystemAttributes(p.attributes);
  const view: ProfileView = {
    id: p.id,
    status: system.status,
    enabled: system.status === 'active',
    tags: system.tags,
    attributes,
    contacts: p.contacts.map((c) => toContactView(tenant, c)),
    has_password: system.hasPassword,
    created_at: p.createdAt,
    updated_at: p.updatedAt,
  };
  if (system.customer !== null) {
    view.customer = system.customer;
    view.is_primary = p.primary;
  }
  return view;
}
