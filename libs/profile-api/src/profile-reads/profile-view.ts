import type { ProfileStatus } from '@tessera/contracts';

/** Who reads (DESIGN §12): a restricted key sees only profiles whose `restriction` attribute is one of its restrictions. */
export interface ReadScope {
  tenant: string;
  /** null: unrestricted. */
  restrictions: readonly string[] | null;
}

/** The contact object of DESIGN §12 (seed 002): one identifier of the profile. */
export interface ContactView {
  contact_id: string;
  key: string;
  value: string;
  created_at: string;
  updated_at: string;
}

/** The profile object of DESIGN §12, exactly as answered. */
export interface ProfileView {
  id: string;
  status: ProfileStatus;
  enabled: boolean;
  tags: string[];
  attributes: Record<string, unknown>;
  contacts: ContactView[];
  has_password: boolean;
  created_at: string;
  updated_at: string;
  /** Only on a profile that belongs to a customer (seed 000). */
  customer?: string;
  is_primary?: boolean;
}
