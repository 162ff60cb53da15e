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
    field .. 'deleted', field .. 'gen', field .. 'reserved_at', field .. 'claimed', field .. 'deleting_at',
    field .. 'deleting_claimed', field .. 'resize_to', field .. 'resize_gen', field .. 'resize_at', field .. 'resize_claimed')
end

local function change(counter, kib, sign)
  if kib ~= '0' then redis.call('HINCRBY', data, counter, sign .. kib) end
end

-- The pending index member of one of this volume's holds; the client parses it back (JSON array).
-- A reservation's member has no marker (as before deletions and resizes were indexed too).
local function pendingMember(gen, marker)
  if marker then return cjson.encode({systemType, systemID, pool, tenant, name, gen, marker}) end
  return cjson.encode({systemType, systemID, pool, tenant, name, gen})
end

-- The fields of each kind of hold: when it was made or last found, and whether another request found it.
local HOLD_FIELDS = {
  reservation = {'reserved_at', 'claimed'},
  deletion = {'deleting_at', 'deleting_claimed'},
  resize = {'resize_at', 'resize_claimed'},
}

-- Another request found the hold and relies on it (the driver's retry, forwarded to the array with
-- it): it may still do the thing on the array, so the hold's pending time becomes now and only the
-- resolver may undo it.
local function claim(kind, member, now)
  local at, claimed = unpack(HOLD_FIELDS[kind])
  redis.call('HSET', data, field .. at, now, field .. claimed, '1')
  redis.call('ZADD', pending, now, member)
end

-- May the hold be undone (release, abort)? since: '' (a refusal) or the pending time the resolver
-- listed. A claimed hold only by the resolver, and only if nobody found it after it listed it.
local function undoable(kind, since)
  local at, claimed = unpack(HOLD_FIELDS[kind])
  local v = redis.call('HMGET', data, field .. at, field .. claimed)
  if since == '' then return not v[2] end
  return not (v[1] and tonumber(v[1]) > tonumber(since))
end

-- Leaves the reserved state: out of reserved_capacity and the pending index (if it was ever in them).
local function unreserve(gen, size, counted)
  if not counted then return end
  change('reserved_capacity', size, '-')
  redis.call('HDEL', data, field .. 'reserved_at', field .. 'claimed')
  redis.call('ZREM', pending, pendingMember(gen))
end

-- Only our own records (they have a generation) were counted in volume_count; Dell v1's never were.
local function uncount(gen)
  if gen ~= '0' then redis.call('HINCRBY', data, 'volume_count', -1) end
end

-- An expansion in flight, if any: the size asked for and its own generation.
local function resizeInFlight()
  local v = redis.call('HMGET', data, field .. 'resize_to', field .. 'resize_gen')
  if not v[1] then return nil, nil end
  return v[1], v[2]
end

-- Frees an expansion in flight: its increase (to - size, applied as two exact HINCRBYs) leaves
-- approved_capacity and reserved_capacity. A shrink in flight held nothing more.
local function dropResize(size)
  local to, rgen = resizeInFlight()
  if not to then return end
  if tonumber(to) > tonumber(size) then
    change('approved_capacity', size, '')
    change('approved_capacity', to, '-')
    change('reserved_capacity', size, '')
    change('reserved_capacity', to, '-')
  end
  redis.call('HDEL', data, field .. 'resize_to', field .. 'resize_gen', field .. 'resize_at', field .. 'resize_claimed')
  redis.call('ZREM', pending, pendingMember(rgen, 'e'))
end

local function endDelete(gen)
  redis.call('HDEL', data, field .. 'deleting', field .. 'deleting_at', field .. 'deleting_claimed')
  redis.call('ZREM', pending, pendingMember(gen, 'd'))
end

-- Dell's entry shape {name, cap?, status}; repairs to the array's truth add {reason}.
local function audit(status, kib, reason)
  local entry = {'name', name}
  if kib then table.insert(entry, 'cap'); table.insert(entry, kib) end
  table.insert(entry, 'status'); table.insert(entry, status)
  if reason then table.insert(entry, 'reason'); table.insert(entry, reason) end
  redis.call('XADD', stream, 'MAXLEN', '~', ${AUDIT_STREAM_LENGTH}, '*', unpack(entry))
end

-- Removes the volume and everything it holds (reservation, deletion, resize, charge).
local function removeVolume(state, gen, size, counted)
  dropResize(size)
  if state == 'reserved' then unreserve(gen, size, counted) else uncount(gen) end
  redis.call('ZREM', pending, pendingMember(gen, 'd'))
  forgetVolume()
  change('approved_capacity', size, '-')
end
`;

/**
 * ARGV[6] size KiB, ARGV[7] quota KiB or '' for unlimited, ARGV[8] now (unix ms), ARGV[9] scope member,
 * ARGV[10] '1' when the quota is report-only (charged over it; the client tells from usedKiB).
 * Returns {'approved', gen, usedKiB} | {'already-approved', gen} | {'denied', usedKiB}. A reservation found
 * unconfirmed is claimed (claim): only the resolver may release it (RELEASE).
 */
export const RESERVE = `${PRELUDE}
local size, quota, now = ARGV[6], ARGV[7], ARGV[8]
local state, gen, _, counted = volumeState()
if state ~= 'absent' then
  if state == 'reserved' and counted then claim('reservation', pendingMember(gen), now) end
  return {'already-approved', gen}
end
local used = redis.call('HGET', data, 'approved_capacity') or '0'
if quota ~= '' and ARGV[10] ~= '1' and tonumber(size) > tonumber(quota) - tonumber(used) then return {'denied', used} end
forgetVolume()
redis.call('HINCRBY', data, 'generation', 1)
gen = redis.call('HGET', data, 'generation')
redis.call('HSET', data, field .. 'approved', '1', field .. 'capacity', size, field .. 'gen', gen, field .. 'reserved_at', now)
change('approved_capacity', size, '')
change('reserved_capacity', size, '')
redis.call('ZADD', pending, now, pendingMember(gen))
redis.call('SADD', scopes, ARGV[9])
audit('approved', size)
return {'approved', gen, used}
`;

/** ARGV[6] generation. Marks a reserved volume created; anything else is a no-op. */
export const COMMIT = `${PRELUDE}
local state, gen, size, counted = volumeState()
if state ~= 'reserved' or gen ~= ARGV[6] then return 0 end
redis.call('HSET', data, field .. 'created', '1')
unreserve(gen, size, counted)
if gen ~= '0' then redis.call('HINCRBY', data, 'volume_count', 1) end
audit('created', size)
return 1
`;

/**
 * ARGV[6] generation, ARGV[7] the pending time the resolver listed, or ''. Frees a reserved (never a
 * committed) volume; a claimed one only with ARGV[7] and only if it was not claimed after it.
 */
export const RELEASE = `${PRELUDE}
local state, gen, size, counted = volumeState()
if state ~= 'reserved' or gen ~= ARGV[6] then return 0 end
if not undoable('reservation', ARGV[7]) then return 0 end
removeVolume(state, gen, size, counted)
audit('released', size)
return 1
`;

/**
 * ARGV[6] now (unix ms). Returns {'ok', gen} for a reserved or committed volume of this scope,
 * {'already-deleting', gen} when a delete is already in flight (that request's hold, now claimed),
 * else {'not-owner'}.
 */
export const BEGIN_DELETE = `${PRELUDE}
local state, gen = volumeState()
if state == 'absent' then return {'not-owner'} end
if redis.call('HEXISTS', data, field .. 'deleting') == 1 then
  claim('deletion', pendingMember(gen, 'd'), ARGV[6])
  return {'already-deleting', gen}
end
redis.call('HSET', data, field .. 'deleting', '1', field .. 'deleting_at', ARGV[6])
redis.call('ZADD', pending, ARGV[6], pendingMember(gen, 'd'))
audit('deleting', nil)
return {'ok', gen}
`;

/** ARGV[6] generation. Frees the volume once; a repeat (or a stale id) finds it absent or newer. */
export const COMMIT_DELETE = `${PRELUDE}
local state, gen, size, counted = volumeState()
if state == 'absent' or gen ~= ARGV[6] then return 0 end
removeVolume(state, gen, size, counted)
audit('deleted', size)
return 1
`;

/**
 * ARGV[6] generation, ARGV[7] the pending time the resolver listed, or ''. Clears the delete in
 * flight (a claimed one: as RELEASE); the volume was charged throughout.
 */
export const ABORT_DELETE = `${PRELUDE}
local state, gen = volumeState()
if state == 'absent' or gen ~= ARGV[6] or redis.call('HEXISTS', data, field .. 'deleting') == 0 then return 0 end
if not undoable('deletion', ARGV[7]) then return 0 end
endDelete(gen)
audit('delete-aborted', nil)
return 1
`;

/**
 * ARGV[6] new size KiB, ARGV[7] quota KiB or '' for unlimited, ARGV[8] now (unix ms), ARGV[9] '1'
 * when a shrink is allowed (it holds nothing more: the old size stays charged until commit), ARGV[10]
 * '1' when the quota is report-only. Returns {'approved', resizeGen, size, usedKiB} | {'already-resizing', resizeGen} | {'unchanged'} | {'busy'}
 * | {'not-owner'} | {'shrink', size} | {'denied', usedKiB, size}. The increase (new - size) is
 * compared as "new - size > quota - used": each difference of two values below 2^53 is exact.
 */
export const BEGIN_RESIZE = `${PRELUDE}
local newSize, quota, now = ARGV[6], ARGV[7], ARGV[8]
local state, gen, size = volumeState()
if state == 'absent' then return {'not-owner'} end
local to, rgen = resizeInFlight()
if to then
  if tonumber(to) ~= tonumber(newSize) then return {'busy'} end
  claim('resize', pendingMember(rgen, 'e'), now)
  return {'already-resizing', rgen}
end
if state ~= 'committed' or redis.call('HEXISTS', data, field .. 'deleting') == 1 then return {'busy'} end
local shrink = tonumber(newSize) < tonumber(size)
if shrink and ARGV[9] ~= '1' then return {'shrink', size} end
if tonumber(newSize) == tonumber(size) then return {'unchanged'} end
local used = redis.call('HGET', data, 'approved_capacity') or '0'
if not shrink and quota ~= '' and ARGV[10] ~= '1' and tonumber(newSize) - tonumber(size) > tonumber(quota) - tonumber(used) then return {'denied', used, size} end
redis.call('HINCRBY', data, 'generation', 1)
rgen = redis.call('HGET', data, 'generation')
redis.call('HSET', data, field .. 'resize_to', newSize, field .. 'resize_gen', rgen, field .. 'resize_at', now)
if not shrink then
  change('approved_capacity', newSize, '')
  change('approved_capacity', size, '-')
  change('reserved_capacity', newSize, '')
  change('reserved_capacity', size, '-')
end
redis.call('ZADD', pending, now, pendingMember(rgen, 'e'))
audit('resizing', newSize)
return {'approved', rgen, size, used}
`;

/** ARGV[6] resize generation. The volume is charged its new size from now on; once. */
export const COMMIT_RESIZE = `${PRELUDE}
local state, gen, size = volumeState()
local to, rgen = resizeInFlight()
if state == 'absent' or rgen ~= ARGV[6] then return 0 end
redis.call('HSET', data, field .. 'capacity', to)
if tonumber(to) > tonumber(size) then
  change('reserved_capacity', size, '')
  change('reserved_capacity', to, '-')
else
  -- A shrink frees the difference only now that the array confirmed it.
  change('approved_capacity', to, '')
  change('approved_capacity', size, '-')
end
redis.call('HDEL', data, field .. 'resize_to', field .. 'resize_gen', field .. 'resize_at', field .. 'resize_claimed')
redis.call('ZREM', pending, pendingMember(rgen, 'e'))
audit('resized', to)
return 1
`;

/** ARGV[6] resize generation, ARGV[7] as ABORT_DELETE's. The increase is freed; once. */
export const ABORT_RESIZE = `${PRELUDE}
local state, gen, size = volumeState()
local to, rgen = resizeInFlight()
if state == 'absent' or rgen ~= ARGV[6] then return 0 end
if not undoable('resize', ARGV[7]) then return 0 end
dropResize(size)
audit('resize-aborted', size)
return 1
`;

/**
 * ARGV[6] size on the array (KiB), ARGV[7] scope member, ARGV[8] reason. The array has this volume:
 * charge it (no quota check), commit its reservation, or correct its size. A delete or resize in
 * flight is left to its own settlement. Returns 'charged' | 'committed' | 'corrected' | 'unchanged'.
 */
export const RECORD_PRESENT = `${PRELUDE}
local actual, reason = ARGV[6], ARGV[8]
local state, gen, size, counted = volumeState()
if state == 'absent' then
  forgetVolume()
  redis.call('HINCRBY', data, 'generation', 1)
  gen = redis.call('HGET', data, 'generation')
  redis.call('HSET', data, field .. 'approved', '1', field .. 'capacity', actual, field .. 'gen', gen, field .. 'created', '1')
  change('approved_capacity', actual, '')
  redis.call('HINCRBY', data, 'volume_count', 1)
  redis.call('SADD', scopes, ARGV[7])
  audit('created', actual, reason)
  return 'charged'
end
local to = resizeInFlight()
if to or redis.call('HEXISTS', data, field .. 'deleting') == 1 then return 'unchanged' end
local resized = tonumber(actual) ~= tonumber(size)
if resized then
  redis.call('HSET', data, field .. 'capacity', actual)
  change('approved_capacity', actual, '')
  change('approved_capacity', size, '-')
end
if state == 'reserved' then
  redis.call('HSET', data, field .. 'created', '1')
  unreserve(gen, size, counted)
  if gen ~= '0' then redis.call('HINCRBY', data, 'volume_count', 1) end
  audit('created', actual, reason)
  return 'committed'
end
if not resized then return 'unchanged' end
audit('resized', actual, reason)
return 'corrected'
`;

/** ARGV[6] reason. The array has no such volume: whatever the ledger holds for it is freed, once. */
export const RECORD_ABSENT = `${PRELUDE}
local state, gen, size, counted = volumeState()
if state == 'absent' then return 0 end
removeVolume(state, gen, size, counted)
audit(state == 'reserved' and 'released' or 'deleted', size, ARGV[6])
return 1
`;

/** Read-only. Returns 1 when the volume is reserved or committed in this scope (the same state rule as above). */
export const OWNS = `${PRELUDE}
local state = volumeState()
return state ~= 'absent' and 1 or 0
`;
