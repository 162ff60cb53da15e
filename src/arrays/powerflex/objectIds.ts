// The volume ids a PowerFlex operation carries. Block volumes keep the gateway's own id
// (`ae376b0300000000`); PowerFlex 4.x file systems and NFS exports live in another namespace
// (`/rest/v1`, UUID-style ids), so their ids say which object they name and the adapter's lookups
// know where to ask. Block ids are hex, so no block id can be mistaken for one of these.

const FILE_SYSTEM = 'file-system:';
const NFS_EXPORT = 'nfs-export:';

export type PowerFlexObject = { type: 'volume'; id: string } | { type: 'file-system'; id: string } | { type: 'nfs-export'; id: string };

export function fileSystemVolumeId(id: string): string {
  return `${FILE_SYSTEM}${id}`;
}

export function nfsExportVolumeId(id: string): string {
  return `${NFS_EXPORT}${id}`;
}

export function objectOf(volumeId: string): PowerFlexObject {
  if (volumeId.startsWith(FILE_SYSTEM)) return { type: 'file-system', id: volumeId.slice(FILE_SYSTEM.length) };
  if (volumeId.startsWith(NFS_EXPORT)) return { type: 'nfs-export', id: volumeId.slice(NFS_EXPORT.length) };
  return { type: 'volume', id: volumeId };
}
