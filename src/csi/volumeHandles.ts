// How each Dell CSI driver writes its CSI volume handle (the PV's volumeHandle, NodePublishVolume's
// volume_id): which array system it is on, the object the array adapter looks up, and, where the
// handle also carries the volume's name, a check that the array's object still has it (a device or
// export id reused by another volume is not the volume the PV named). One entry per array type, pure;
// a handle no entry reads is refused (fail closed). Formats from the drivers' own parsers:
// csi-powerflex, csi-powermax (parseCsiID), csi-powerstore (array.ParseVolumeID), csi-powerscale
// (identifiers.ParseNormalizedVolumeID).
import type { SystemType } from '../resources/types.js';

export interface VolumeHandle {
  systemID: string;
  /** What the array adapter's `volume()` looks up. */
  volumeId: string;
  /** Whether the array's name for the object is the one the handle names (when the handle names one). */
  names?: (arrayName: string) => boolean;
}

type HandleReader = (handle: string) => VolumeHandle | undefined;

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const POWERSTORE = new RegExp(`^(${UUID})/([A-Za-z0-9]+)/(scsi|nfs)(?::${UUID}/[A-Za-z0-9]+)?$`, 'i');
/** csi-powermax: `csi-<clusterPrefix>-<name>-<symID>-<devID>`; SRDF Metro adds `:<remote symID>` and `:<remote devID>`. */
const POWERMAX = /^(csi-.+)-(\d{12})(?::\d{12})?-([0-9A-F]{5})(?::[0-9A-F]{5})?$/i;
const POWERSCALE_SEPARATOR = '=_=_=';

const VOLUME_HANDLES: Record<SystemType, HandleReader> = {
  // "<systemID>-<volumeID>", both hex.
  powerflex: (handle) => {
    const match = /^([0-9a-f]{16})-([0-9a-f]+)$/i.exec(handle);
    return match ? { systemID: match[1]!, volumeId: match[2]! } : undefined;
  },
  // The name is the device's volume identifier, as csi-powermax compares it before it deletes. A file
  // system's handle (a UUID in place of the 5-digit device) is not read: the adapter looks up devices.
  powermax: (handle) => {
    const match = POWERMAX.exec(handle);
    if (!match) return undefined;
    const [, name, symID, device] = match as unknown as [string, string, string, string];
    return { systemID: symID, volumeId: device, names: (arrayName) => arrayName === name };
  },
  // "<volume or file system UUID>/<array global ID>/<scsi|nfs>", Metro adds ":<remote UUID>/<remote global ID>"
  // (the local half is the one this cluster mounts). The driver's legacy forms (no global ID, or the
  // array's IP in its place) need its configuration to locate and are not read.
  powerstore: (handle) => {
    const match = POWERSTORE.exec(handle);
    if (!match) return undefined;
    const [, uuid, globalID, protocol] = match as unknown as [string, string, string, string];
    return { systemID: globalID, volumeId: `${protocol.toLowerCase() === 'nfs' ? 'file_system' : 'volume'}/${uuid.toLowerCase()}` };
  },
  // "<directory name>=_=_=<NFS export id>=_=_=<access zone>=_=_=<cluster name>": the system is the cluster
  // name, as storage-authz's PowerScale systems are; the export stands for its directory, which must be
  // the one the handle names. A handle without the cluster name (older drivers: the default cluster) is
  // not read.
  powerscale: (handle) => {
    const tokens = handle.split(POWERSCALE_SEPARATOR);
    if (tokens.length !== 4 || tokens.some((token) => token === '') || !/^\d+$/.test(tokens[1]!)) return undefined;
    const [name, exportId, , cluster] = tokens as [string, string, string, string];
    return { systemID: cluster, volumeId: `export:${exportId}`, names: (arrayName) => arrayName.slice(arrayName.lastIndexOf('/') + 1) === name };
  },
};

/** The handle as a driver of `type` writes it, or undefined when it is not one. */
export function readVolumeHandle(type: SystemType, handle: string): VolumeHandle | undefined {
  return VOLUME_HANDLES[type](handle);
}
