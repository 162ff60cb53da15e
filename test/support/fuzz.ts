// Shared fast-check inputs for the fuzz properties (`*.fuzz.test.ts`): request parts that have
// tricked path, header and body handling somewhere. Runs are bounded per property so that all of
// them together stay well under 30 s on a loaded 2-core machine.
import fc from 'fast-check';

/** Path pieces: dot segments raw and encoded, ';', '%', '\\', NUL, case variants, PowerFlex words. */
const PATH_PIECES = ['/', '//', '.', '..', '%2e', '%2E%2e', '%2f', '%2F', '%5c', '%00', ';', ';x=1', '%3B', '%3b', '%', '%4', '%zz', '%41', '\\', '?', '#',
  'api', 'API', 'types', 'Volume', 'instances', 'Volume::ae37', 'System::1', 'action', 'removeVolume', 'REMOVEVOLUME', 'addMappedSdc', 'removeMappedSdc',
  'snapshotVolumes', 'approveSdc', 'queryIdByKey', 'logout', 'gatewayLogout', 'login', '%3A%3A', ' ', '\t', '\u0000', '\u007f', 'é', '%C3%A9', '~'];

export const trickyPath: fc.Arbitrary<string> = fc.oneof(
  fc.array(fc.constantFrom(...PATH_PIECES), { maxLength: 12 }).map((pieces) => pieces.join('')),
  fc.array(fc.constantFrom(...PATH_PIECES), { maxLength: 12 }).map((pieces) => `/${pieces.join('')}`),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

/** HTTP methods, odd spellings included. */
export const anyMethod: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT', 'get', 'Post', 'PROPFIND', ''),
  fc.string({ maxLength: 8 }),
);

/** Request bodies: garbage bytes, JSON of any shape, and PowerFlex-shaped objects with stray keys. */
export const anyBody: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
  fc.jsonValue({ maxDepth: 3 }).map((value) => Buffer.from(JSON.stringify(value) ?? '')),
  fc.record({
    name: fc.oneof(fc.string({ maxLength: 12 }), fc.integer()),
    storagePoolId: fc.oneof(fc.constantFrom('a1b2c3d400000000', ''), fc.string({ maxLength: 20 })),
    volumeSizeInKb: fc.oneof(fc.constantFrom('8388608', '0', '-1', '1.5', '1e9', '99999999999999999'), fc.integer(), fc.string({ maxLength: 10 })),
    snapshotDefs: fc.array(fc.record({ volumeId: fc.string({ maxLength: 18 }), snapshotName: fc.string({ maxLength: 8 }) }, { requiredKeys: [] }), { maxLength: 3 }),
  }, { requiredKeys: [] }).map((value) => Buffer.from(JSON.stringify(value))),
);
