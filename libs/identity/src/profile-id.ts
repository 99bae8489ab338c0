import { createHash, hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/** Fixed namespace of Tessera profile ids. Never change it: replays rely on it to reproduce ids. */
export const TESSERA_PROFILE_NAMESPACE = '6f1d2c3e-8b4a-4f5e-9c7d-2a1b3c4d5e6f';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A UUID in its textual form (8-4-4-4-12 hex digits, any case, any version): the shape of every profile id. */
export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}

function uuidBytes(uuid: string): Buffer {
  if (!UUID_PATTERN.test(uuid)) throw new Error(`not a UUID: ${uuid}`);
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

function v5(name: string, namespace: Buffer): string {
  return formatV5(createHash('sha1').update(namespace).update(name, 'utf8').digest());
}

/** The UUID text of a SHA-1 digest, version 5 and variant bits set (the digest is changed in place). */
function formatV5(hash: Buffer): string {
  hash[6] = (hash[6] & 0x0f) | 0x50; // version 5
  hash[8] = (hash[8] & 0x3f) | 0x80; // variant 10xx (RFC 9562)
  const hex = hash.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** UUID version 5 (RFC 9562 §5.5): SHA-1 of namespace bytes + UTF-8 name, version and variant bits set. */
export function uuidV5(name: string, namespace: string): string {
  return v5(name, uuidBytes(namespace));
}

const NAMESPACE_BYTES = uuidBytes(TESSERA_PROFILE_NAMESPACE);

// Namespace bytes followed by the name, hashed in one call (crypto.hash, node ≥ 20.12: no Hash object per id, a third cheaper).
const NAME_ROOM = 1024;
const v5Input = Buffer.alloc(16 + NAME_ROOM);
NAMESPACE_BYTES.copy(v5Input, 0);

/** `v5(name, NAMESPACE_BYTES)`, the same bytes. */
function profileV5(name: string): string {
  // 3 bytes per UTF-16 unit at most: a name that might not fit takes the general path.
  if (name.length * 3 > NAME_ROOM) return v5(name, NAMESPACE_BYTES);
  const length = v5Input.write(name, 16, 'utf8');
  return formatV5(hash('sha1', v5Input.subarray(0, 16 + length), 'buffer'));
}

/** Deterministic id of the profile a record creates: UUID v5 of the record id in Tessera's namespace. */
export function profileIdFor(recordId: string): string {
  let id = recentProfileIds.get(recordId);
  if (id === undefined) {
    id = profileV5(recordId);
    recentProfileIds.set(recordId, id);
  }
  return id;
}

// The projector asks twice per record (preload keys, then the create): remember a batch's worth.
const recentProfileIds = new LRUCache<string, string>({ max: 16_384 });
