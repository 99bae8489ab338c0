/** SQL of the Postgres log, in one place so the statements can be read next to the schema (postgres-log.migration.ts). */
import { LOG_RECORD_COLUMNS } from './postgres-log-rows';

/** NOTIFY channel: payload = topic name; sent by every produce transaction on commit. */
export const RECORDS_CHANNEL = 'tessera_log';
/** NOTIFY channel: payload = group id; sent when a member joins, leaves or hands partitions over. */
export const GROUP_CHANNEL = 'tessera_log_group';

// Advisory lock keys are 64-bit hashes of a JSON tuple (unambiguous, no separator escaping).
export const partitionLockName = (groupId: string, topic: string, partition: number) =>
  JSON.stringify(['tessera-log/partition', groupId, topic, partition]);
export const memberLockName = (groupId: string, memberId: string) => JSON.stringify(['tessera-log/member', groupId, memberId]);
export const LOCK_KEY = 'hashtextextended($1::text, 0)';

// One statement appends a batch (one round trip; outside a transaction it is its own durable commit):
// - `locked` takes the partition rows FOR UPDATE in ascending order (LockRows runs above the Sort, so rows
//   really are locked in ORDER BY order and concurrent producers cannot deadlock). Under READ COMMITTED a
//   row another producer moved meanwhile is re-read after its commit (EvalPlanQual): `next_offset` is the
//   latest value, whatever the statement's snapshot saw.
// - offsets are that next_offset + ordinal within the partition, and `moved` sets next_offset from the same
//   locked value, so offsets stay dense and ordered per partition.
// - the record time is read once, after every lock was granted (the InitPlan counts `locked` first), so it
//   never goes backwards within a partition; all records of the statement share it.
// - a partition that no longer exists leaves its records without an offset: the NOT NULL violation rolls
//   the whole statement back (no partial append) and is reported as an unknown topic.
// Values and keys arrive as one binary blob cut by (start, length); distinct header objects arrive once ($10)
// and records point at them. Integer arrays arrive as array literals (cheaper to encode than pg's escaping).
export const APPEND_SQL = `
  WITH locked AS (
    SELECT partition, next_offset FROM log_partitions
    WHERE topic = $1 AND partition = ANY($11::int[])
    ORDER BY partition
    FOR UPDATE
  ), appended AS (
    INSERT INTO log_records (topic, partition, "offset", key, value, headers, ts)
    SELECT $1, r.partition, l.next_offset + r.ordinal,
           convert_from(substring($4::bytea FROM r.key_start + 1 FOR r.key_length), 'UTF8'),
           substring($4::bytea FROM r.start + 1 FOR r.length), $10::jsonb -> r.header,
           (SELECT clock_timestamp() FROM (SELECT count(*) FROM locked) AS all_locked)
    FROM unnest($2::int[], $3::int[], $5::int[], $6::int[], $7::int[], $8::int[], $9::int[])
      AS r(partition, ordinal, key_start, key_length, start, length, header)
    LEFT JOIN locked l ON l.partition = r.partition
  ), moved AS (
    UPDATE log_partitions lp SET next_offset = l.next_offset + m.count
    FROM locked l JOIN unnest($11::int[], $12::int[]) AS m(partition, count) ON m.partition = l.partition
    WHERE lp.topic = $1 AND lp.partition = l.partition
  ), notified AS (
    SELECT pg_notify('${RECORDS_CHANNEL}', $1)
  )
  SELECT l.partition, l.next_offset FROM locked l, notified`;

export const FETCH_SQL = `
  SELECT ${LOG_RECORD_COLUMNS},
         (SELECT next_offset FROM log_partitions WHERE topic = $1 AND partition = $2) AS high_watermark
  FROM log_records
  WHERE topic = $1 AND partition = $2 AND "offset" >= $3
  ORDER BY "offset"
  LIMIT $4`;

// A scan page: [from, until) of one partition, no group involved.
export const SCAN_SQL = `
  SELECT ${LOG_RECORD_COLUMNS}
  FROM log_records
  WHERE topic = $1 AND partition = $2 AND "offset" >= $3 AND "offset" < $4
  ORDER BY "offset"
  LIMIT $5`;

// Erasure: rewrites records in place by (partition, offset); NULL headers / key keep what is stored.
export const REDACT_SQL = `
  UPDATE log_records r
  SET value = t.value, headers = coalesce(t.headers::jsonb, r.headers), key = coalesce(t.key, r.key)
  FROM unnest($2::int[], $3::bigint[], $4::bytea[], $5::text[], $6::text[]) AS t(partition, "offset", value, headers, key)
  WHERE r.topic = $1 AND r.partition = t.partition AND r."offset" = t."offset"`;

// Fenced commit: only the current owner (generation) may move the group offset. FOR SHARE makes a
// concurrent hand-over (which updates the assignment row) wait for this commit, or fences it.
// `flushWait` false: committed without waiting for the WAL flush (set_config's `true`: for this
// statement's transaction alone) — see COMMIT_HANDLED_SQL.
const commitSql = (flushWait: boolean) => `
  WITH owner AS (
    SELECT 1 FROM log_group_assignments
    WHERE group_id = $1 AND topic = $2 AND partition = $3 AND generation = $4
    FOR SHARE
  )${flushWait ? '' : `, no_flush_wait AS (SELECT set_config('synchronous_commit', 'off', true))`}
  INSERT INTO log_group_offsets (group_id, topic, partition, next_offset, updated_at)
  SELECT $1, $2, $3, $5, now() FROM owner${flushWait ? '' : ', no_flush_wait'}
  ON CONFLICT (group_id, topic, partition) DO UPDATE SET next_offset = excluded.next_offset, updated_at = now()`;

export const COMMIT_SQL = commitSql(true);

// The commit after a handled batch, for a consumer whose application keeps its own checkpoint
// (resolveStartOffset: the group offset never decides where it resumes). Waiting for the flush would flush
// all WAL written before it — the handler's own asynchronously committed transaction (a projection batch:
// ≈ 4 MB) — and cost the projector ≈ 9 ms a batch. A commit lost with PostgreSQL's last ≈ 0.6 s (a crash
// of the database, not of this process) only leaves the group offset behind its checkpoint.
export const COMMIT_HANDLED_SQL = commitSql(false);

export const CLAIM_SQL = `
  INSERT INTO log_group_assignments (group_id, topic, partition, member_id, generation, assigned_at)
  VALUES ($1, $2, $3, $4, 1, now())
  ON CONFLICT (group_id, topic, partition)
  DO UPDATE SET member_id = excluded.member_id, generation = log_group_assignments.generation + 1, assigned_at = now()
  RETURNING generation`;

/** A member is live while its session holds its member advisory lock (a killed process loses it at once). */
const MEMBER_IS_LIVE = `EXISTS (
    SELECT 1 FROM pg_locks l
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.classid = ((m.lock_key >> 32) & 4294967295)::oid
      AND l.objid = (m.lock_key & 4294967295)::oid)`;

export const REGISTER_MEMBER_SQL = `
  INSERT INTO log_group_members (group_id, member_id, topics, lock_key, joined_at, heartbeat_at)
  VALUES ($2, $3, $4::text[], ${LOCK_KEY}, now(), now())
  ON CONFLICT (group_id, member_id) DO UPDATE SET topics = excluded.topics, lock_key = excluded.lock_key, heartbeat_at = now()`;

export const HEARTBEAT_SQL = `
  UPDATE log_group_members SET heartbeat_at = now() WHERE group_id = $1 AND member_id = $2 RETURNING 1 AS ok`;

export const LIVE_MEMBERS_SQL = `
  SELECT m.member_id, m.topics FROM log_group_members m
  WHERE m.group_id = $1 AND ${MEMBER_IS_LIVE}
  ORDER BY m.member_id`;

// Rows of members whose session is gone (killed processes); the grace period covers a member that is reconnecting.
export const REAP_MEMBERS_SQL = `
  DELETE FROM log_group_members m
  WHERE m.group_id = $1 AND m.heartbeat_at < now() - interval '30 seconds' AND NOT ${MEMBER_IS_LIVE}`;

export const COUNT_LIVE_MEMBERS_SQL = `
  SELECT count(*)::int AS n FROM log_group_members m WHERE m.group_id = $1 AND ${MEMBER_IS_LIVE}`;
