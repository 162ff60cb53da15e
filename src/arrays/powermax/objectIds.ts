// SnapVX snapshots are not volumes on PowerMax (no device id): an operation names one as
// `snapshot:<source device>:<snapshot name>`, so the adapter's volume lookup can answer for it
// (the snapshot is charged, owned and freed under its name, in its source's SRP).
const PREFIX = 'snapshot:';

export function snapshotObjectId(sourceDevice: string, snapshotName: string): string {
  return `${PREFIX}${sourceDevice}:${snapshotName}`;
}

export function snapshotOf(volumeId: string): { sourceDevice: string; snapshotName: string } | undefined {
  if (!volumeId.startsWith(PREFIX)) return undefined;
  const rest = volumeId.slice(PREFIX.length);
  const at = rest.indexOf(':');
  return at === -1 ? undefined : { sourceDevice: rest.slice(0, at), snapshotName: rest.slice(at + 1) };
}
