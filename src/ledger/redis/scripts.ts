// The Lua scripts behind every ledger change: each change is one script, so Redis runs it atomically
// (no other client's command interleaves, nothing is half-written) in one round trip.
//
// Arithmetic: sizes travel as decimal strings and are only added or subtracted by HINCRBY, which is
// exact 64-bit integer arithmetic in Redis. Lua numbers are doubles, so Lua only *compares* values,
// all at most 2^53 - 1, and compares "requested > quota - used" (never adds) so no intermediate
// result leaves the exact range.
//
// Every script receives the same keys and the same leading arguments:
//   KEYS[1] quota:<type>:<systemID>:<pool>:<tenant>:data    (hash, Dell v1 layout plus our fields)
//   KEYS[2] quota:<type>:<systemID>:<pool>:<tenant>:stream  (audit stream, Dell v1 entry shape)
//   KEYS[3] storage-authz:pending                           (sorted set: unconfirmed reservations by time)
//   KEYS[4] storage-authz:scopes                            (set: every scope ever reserved in, for usage)
//   ARGV[1..5] system type, system ID, pool, tenant, volume name

/** Audit entries kept per scope; Dell never trimmed its streams, which grow without bound. */
export const AUDIT_STREAM_LENGTH = 10000;

const PRELUDE = `
local data, stream, pending, scopes = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local systemType, systemID, pool, tenant, name = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local field = 'vol:' .. name .. ':'

-- Returns state, generation, size and whether the size is in reserved_capacity.
-- state: 'absent' (never reserved, released or deleted), 'reserved' or 'committed'.
-- A record adopted from Dell v1 has no generation (it is generation '0') and no reserved_at: Dell
-- counted its unconfirmed creates only in approved_capacity. Dell kept a deleted volume's fields and
-- only added 'deleted', so a 'deleted' field means absent.
local function volumeState()
  local v = redis.call('HMGET', data, field .. 'approved', field .. 'created', field .. 'deleted', field .. 'gen',
    field .. 'capacity', field .. 'reserved_at')
  if not v[1] or v[3] then return 'absent', nil, nil, false end
  return (v[2] and 'committed' or 'reserved'), (v[4] or '0'), (v[5] or '0'), (v[6] ~= false)
end

local function forgetVolume()
  redis.call('HDEL', data, field .. 'approved', field .. 'capacity', field .. 'created', field .. 'deleting',
    field .. 'deleted', field .. 'gen', field .. 'reserved_at')
end

local function change(counter, kib, sign)
  if kib ~= '0' then redis.call('HINCRBY', data, counter, sign .. kib) end
end

-- The pending index member of this volume's reservation; the client parses it back (JSON array).
local function pendingMember(gen)
  return cjson.encode({systemType, systemID, pool, tenant, name, gen})
end

-- Leaves the reserved state: out of reserved_capacity and the pending index (if it was ever in them).
local function unreserve(gen, size, counted)
  if not counted then return end
  change('reserved_capacity', size, '-')
  redis.call('HDEL', data, field .. 'reserved_at')
  redis.call('ZREM', pending, pendingMember(gen))
end

-- Adopted Dell v1 volumes were never counted in volume_count, so it must not go below zero for them.
local function uncount()
  if tonumber(redis.call('HGET', data, 'volume_count') or '0') > 0 then redis.call('HINCRBY', data, 'volume_count', -1) end
end

local function audit(status, kib)
  if kib then
    redis.call('XADD', stream, 'MAXLEN', '~', ${AUDIT_STREAM_LENGTH}, '*', 'name', name, 'cap', kib, 'status', status)
  else
    redis.call('XADD', stream, 'MAXLEN', '~', ${AUDIT_STREAM_LENGTH}, '*', 'name', name, 'status', status)
  end
end
`;

/**
 * ARGV[6] size KiB, ARGV[7] quota KiB or '' for unlimited, ARGV[8] now (unix ms), ARGV[9] scope member.
 * Returns {'approved', gen} | {'already-approved', gen} | {'denied', usedKiB}.
 */
export const RESERVE = `${PRELUDE}
local size, quota, now = ARGV[6], ARGV[7], ARGV[8]
local state, gen = volumeState()
if state ~= 'absent' then return {'already-approved', gen} end
local used = redis.call('HGET', data, 'approved_capacity') or '0'
if quota ~= '' and tonumber(size) > tonumber(quota) - tonumber(used) then return {'denied', used} end
forgetVolume()
redis.call('HINCRBY', data, 'generation', 1)
gen = redis.call('HGET', data, 'generation')
redis.call('HSET', data, field .. 'approved', '1', field .. 'capacity', size, field .. 'gen', gen, field .. 'reserved_at', now)
change('approved_capacity', size, '')
change('reserved_capacity', size, '')
redis.call('ZADD', pending, now, pendingMember(gen))
redis.call('SADD', scopes, ARGV[9])
audit('approved', size)
return {'approved', gen}
`;

/** ARGV[6] generation. Marks a reserved volume created; anything else is a no-op. */
export const COMMIT = `${PRELUDE}
local state, gen, size, counted = volumeState()
if state ~= 'reserved' or gen ~= ARGV[6] then return 0 end
redis.call('HSET', data, field .. 'created', '1')
unreserve(gen, size, counted)
redis.call('HINCRBY', data, 'volume_count', 1)
audit('created', size)
return 1
`;

/** ARGV[6] generation. Frees a reserved (never a committed) volume. */
export const RELEASE = `${PRELUDE}
local state, gen, size, counted = volumeState()
if state ~= 'reserved' or gen ~= ARGV[6] then return 0 end
unreserve(gen, size, counted)
forgetVolume()
change('approved_capacity', size, '-')
audit('released', size)
return 1
`;

/** Returns {'ok', gen} for a reserved or committed volume of this scope, else {'not-owner'}. */
export const BEGIN_DELETE = `${PRELUDE}
local state, gen = volumeState()
if state == 'absent' then return {'not-owner'} end
redis.call('HSET', data, field .. 'deleting', '1')
audit('deleting', nil)
return {'ok', gen}
`;

/** ARGV[6] generation. Frees the volume once; a repeat (or a stale id) finds it absent or newer. */
export const COMMIT_DELETE = `${PRELUDE}
local state, gen, size, counted = volumeState()
if state == 'absent' or gen ~= ARGV[6] then return 0 end
if state == 'reserved' then unreserve(gen, size, counted) else uncount() end
forgetVolume()
change('approved_capacity', size, '-')
audit('deleted', size)
return 1
`;

/** ARGV[6] generation. Clears the 'deleting' marker; the volume was charged throughout. */
export const ABORT_DELETE = `${PRELUDE}
local state, gen = volumeState()
if state == 'absent' or gen ~= ARGV[6] then return 0 end
redis.call('HDEL', data, field .. 'deleting')
audit('delete-aborted', nil)
return 1
`;

/** Read-only. Returns 1 when the volume is committed in this scope (the same state rule as above). */
export const OWNS = `${PRELUDE}
local state = volumeState()
return state == 'committed' and 1 or 0
`;
