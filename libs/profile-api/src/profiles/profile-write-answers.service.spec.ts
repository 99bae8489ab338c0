import { contactIdOf } from '@tessera/contracts';
import { ProblemException } from '@tessera/runtime';
import type { ContactView, ProfileView, ReadScope } from '../profile-reads/profile-view';
import { ProfileReads } from '../profile-reads/profile-reads.port';
import { ProfileChangeCommand, ProfileWriteResult, ProfileWrites } from '../profile-writes/profile-writes.port';
import { ProfileWriteAnswers, profilePath } from './profile-write-answers.service';

const ID = '0190a4c2-7d1e-7b3a-9c55-2f4d8e6a1b20';
const OWNER = '0190a4c2-7d1e-7b3a-9c55-2f4d8e6a1b99';
const T = '2026-12-03T01:00:00.000Z';

/** In-memory fakes of our two ports: the writes answer from a script; the reads hold profiles by id and record their scopes. */
class ScriptedWrites extends ProfileWrites {
  readonly submitted: ProfileChangeCommand[] = [];
  constructor(private readonly script: (c: ProfileChangeCommand) => ProfileWriteResult) {
    super();
  }
  async submit(command: ProfileChangeCommand) {
    this.submitted.push(command);
    return this.script(command);
  }
  erasure: 'erased' | 'pending' = 'erased';
  async erase(_tenant: string, profileId: string) {
    return profileId === ID ? { state: this.erasure, requestId: 'r1', profileId } : ({ state: 'not-found' } as const);
  }
}

class MemoryReads extends ProfileReads {
  readonly scopes: ReadScope[] = [];
  constructor(readonly profiles: Map<string, ProfileView>) {
    super();
  }
  async getProfile(scope: ReadScope, id: string) {
    this.scopes.push(scope);
    const view = this.profiles.get(id);
    return view && (scope.restrictions === null || scope.restrictions.includes(String(view.attributes.restriction))) ? view : undefined;
  }
  async getContact(scope: ReadScope, id: string, contactId: string): Promise<ContactView | undefined> {
    return (await this.getProfile(scope, id))?.contacts.find((c) => c.contact_id === contactId);
  }
}

function view(contacts: Array<[string, string]> = []): ProfileView {
  return {
    id: ID,
    status: 'active',
    enabled: true,
    tags: [],
    // A restricted profile: a restricted reader would not see it, the writer's answer does.
    attributes: { restriction: 'eu' },
    contacts: contacts.map(([key, value]) => ({ contact_id: contactIdOf('t', key, value), key, value, created_at: T, updated_at: T })),
    has_password: true,
    created_at: T,
    updated_at: T,
  };
}

const create = { op: 'create' as const, tenant: 't', attributes: { email: 'a@b.co' } };
const answerAs = { created: true, locationOf: profilePath };

describe('ProfileWriteAnswers', () => {
  it('given an applied create, when answered, then 201 with Location and the profile read with the tenant\'s unrestricted scope', async () => {
    const reads = new MemoryReads(new Map([[ID, view([['email', 'a@b.co']])]]));
    const answers = new ProfileWriteAnswers(new ScriptedWrites(() => ({ state: 'applied', profileId: ID })), reads);
    const answer = await answers.profileWrite(create, [], answerAs);
    expect(answer).toEqual({ status: 201, location: `/api/v1/profiles/${ID}`, body: view([['email', 'a@b.co']]) });
    expect(reads.scopes).toEqual([{ tenant: 't', restrictions: null }]);
  });

  it('given contacts the profile does not hold, when a write is applied, then each is linked and the answer shows them', async () => {
    const profiles = new Map([[ID, view([['email', 'a@b.co']])]]);
    const writes = new ScriptedWrites((c) => {
      if (c.op === 'link-contact') profiles.set(ID, view([['email', 'a@b.co'], [c.contact.type, c.contact.value]]));
      return { state: 'applied', profileId: ID };
    });
    const answer = await new ProfileWriteAnswers(writes, new MemoryReads(profiles)).profileWrite(create, [{ type: 'email', value: 'a@b.co' }, { type: 'email', value: 'c@d.co' }], { created: false, locationOf: profilePath });
    expect(writes.submitted.map((c) => c.op)).toEqual(['create', 'link-contact']);
    expect(answer.status).toBe(200);
    expect((answer.body as ProfileView).contacts.map((c) => c.value)).toEqual(['a@b.co', 'c@d.co']);
  });

  it('given a create whose extra contact belongs to another profile, when answered, then 409 naming the owner and the created profile, with its Location', async () => {
    const writes = new ScriptedWrites((c) => (c.op === 'link-contact' ? { state: 'conflict', field: 'value', ownerId: OWNER, detail: `value belongs to profile ${OWNER}` } : { state: 'applied', profileId: ID }));
    const error = (await new ProfileWriteAnswers(writes, new MemoryReads(new Map([[ID, view([['email', 'a@b.co']])]])))
      .profileWrite(create, [{ type: 'email', value: 'c@d.co' }], answerAs)
      .catch((e: unknown) => e)) as ProblemException;
    expect({ status: error.getStatus(), location: error.extra.headers?.Location }).toEqual({ status: 409, location: `/api/v1/profiles/${ID}` });
    expect(error.detail).toContain(OWNER);
    expect(error.detail).toContain(`profile ${ID} was created`);
  });

  it('given a conflict, when answered, then 409 whose detail names the field and the owner\'s id', async () => {
    const answers = new ProfileWriteAnswers(new ScriptedWrites(() => ({ state: 'conflict', field: 'attributes.email', ownerId: OWNER, detail: '' })), new MemoryReads(new Map()));
    const error = (await answers.profileWrite(create, [], answerAs).catch((e: unknown) => e)) as ProblemException;
    expect(error).toBeInstanceOf(ProblemException);
    expect(error.getStatus()).toBe(409);
    expect(error.detail).toContain('attributes.email');
    expect(error.detail).toContain(OWNER);
  });

  it('given pending, not-found and invalid outcomes, when answered, then 202 with Location and {id, status}, 404, 422 with errors', async () => {
    const outcomes: ProfileWriteResult[] = [
      { state: 'pending', recordId: 'r', profileId: ID },
      { state: 'not-found' },
      { state: 'invalid', errors: [{ field: 'attributes.phone', message: 'is not a possible number' }] },
    ];
    const results = [];
    for (const outcome of outcomes) {
      const answers = new ProfileWriteAnswers(new ScriptedWrites(() => outcome), new MemoryReads(new Map()));
      results.push(await answers.profileWrite({ op: 'patch', tenant: 't', profileId: ID, attributes: {} }, [], { created: false, locationOf: profilePath }).catch((e: ProblemException) => ({ status: e.getStatus(), errors: e.extra.errors })));
    }
    expect(results).toEqual([
      { status: 202, location: `/api/v1/profiles/${ID}`, body: { id: ID, status: 'pending' } },
      { status: 404, errors: undefined },
      { status: 422, errors: [{ field: 'attributes.phone', message: 'is not a possible number' }] },
    ]);
  });

  it('given a contact replaced, when applied, then the answer is the NEW contact with its own id', async () => {
    const profiles = new Map([[ID, view([['email', 'new@b.co']])]]);
    const answers = new ProfileWriteAnswers(new ScriptedWrites(() => ({ state: 'applied', profileId: ID })), new MemoryReads(profiles));
    const answer = await answers.contactWrite({ op: 'replace-contact', tenant: 't', profileId: ID, contactId: contactIdOf('t', 'email', 'old@b.co'), contact: { type: 'email', value: 'new@b.co' } }, false);
    expect(answer).toEqual({ status: 200, body: expect.objectContaining({ contact_id: contactIdOf('t', 'email', 'new@b.co'), value: 'new@b.co' }) });
  });

  it('given an erase of an unknown profile, when answered, then 404; of a known one, 204 once applied, else 202 with the status URL', async () => {
    const writes = new ScriptedWrites(() => ({ state: 'not-found' }));
    const answers = new ProfileWriteAnswers(writes, new MemoryReads(new Map()));
    expect(await answers.erase('t', ID)).toEqual({ status: 204 });
    await expect(answers.erase('t', OWNER)).rejects.toMatchObject({ detail: expect.stringContaining(OWNER) });
    writes.erasure = 'pending';
    expect(await answers.erase('t', ID)).toEqual({ status: 202, location: '/v3/compliance/gdpr/status/r1', body: { id: ID, status: 'pending', request_id: 'r1' } });
  });
});
