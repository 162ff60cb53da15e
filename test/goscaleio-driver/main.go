// powerflex-csi-driver: the PowerFlex CSI driver's controller calls, made with Dell's own client
// library (github.com/dell/goscaleio, the version csi-powerflex ships) against an endpoint that
// looks like a PowerFlex gateway (in the tests: the tenant sidecar at https://localhost:<port>).
// It is a line protocol, so a test can check the quota ledger between two driver calls: one JSON
// command per stdin line, one JSON result per stdout line.
//
// Each command performs what csi-powerflex's controller does for that CSI call (service/controller.go),
// through goscaleio, which builds snapshot, delete, expand and statistics URLs from the `links` of
// the objects the gateway returned.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"

	goscaleio "github.com/dell/goscaleio"
	types "github.com/dell/goscaleio/types/v1"
)

type command struct {
	Op        string `json:"op"`
	Endpoint  string `json:"endpoint"`
	SystemID  string `json:"systemId"`
	Pool      string `json:"pool"`
	Name      string `json:"name"`
	ID        string `json:"id"`
	SizeGiB   int64  `json:"sizeGiB"`
	SdcGUID   string `json:"sdcGuid"`
	Nas       string `json:"nas"`
	SizeBytes int    `json:"sizeBytes"`
	Host      string `json:"host"`
	Source    string `json:"source"`
}

type driver struct {
	client *goscaleio.Client
	system *goscaleio.System
}

func main() {
	d := &driver{}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	// goscaleio prints to stdout (FindVolumeID's "[FindVolumeID] volumeID: …"): results get the
	// real stdout, everything else printed goes to stderr.
	out := json.NewEncoder(os.Stdout)
	os.Stdout = os.Stderr
	for in.Scan() {
		var cmd command
		result := map[string]interface{}{}
		err := json.Unmarshal(in.Bytes(), &cmd)
		if err == nil {
			err = d.run(cmd, result)
		}
		if err != nil {
			result = map[string]interface{}{"ok": false, "message": err.Error()}
			var gatewayErr *types.Error
			if errors.As(err, &gatewayErr) {
				result["status"] = gatewayErr.HTTPStatusCode
				result["errorCode"] = gatewayErr.ErrorCode
				result["message"] = gatewayErr.Message
			}
		} else {
			result["ok"] = true
		}
		result["op"] = cmd.Op
		if encodeErr := out.Encode(result); encodeErr != nil {
			os.Exit(2)
		}
	}
}

func (d *driver) run(cmd command, result map[string]interface{}) error {
	if cmd.Op != "probe" && d.system == nil {
		return errors.New("probe first")
	}
	switch cmd.Op {
	case "probe":
		return d.probe(cmd, result)
	case "capacity":
		return d.capacity(cmd, result)
	case "create":
		return d.create(cmd, result)
	case "get":
		vol, err := d.volume(cmd.ID)
		if err == nil {
			result["name"], result["sizeInKb"], result["mappedSdcs"] = vol.Name, vol.SizeInKb, len(vol.MappedSdcInfo)
		}
		return err
	case "map":
		return d.publish(cmd)
	case "expand":
		return d.expand(cmd, result)
	case "snapshot":
		return d.snapshot(cmd, result)
	case "unmap":
		return d.unpublish(cmd)
	case "delete":
		vol, err := d.volume(cmd.ID)
		if err != nil {
			return err
		}
		target := goscaleio.NewVolume(d.client)
		target.Volume = vol
		return target.RemoveVolume("ONLY_ME")
	case "nfs-create":
		return d.nfsCreate(cmd, result)
	case "nfs-export":
		resp, err := d.client.CreateNFSExport(&types.NFSExportCreate{Name: cmd.Name, FileSystemID: cmd.ID, Path: "/" + cmd.Name, ReadWriteRootHosts: []string{cmd.Host}})
		if err == nil {
			result["id"] = resp.ID
		}
		return err
	case "nfs-unexport":
		return d.client.DeleteNFSExport(cmd.ID)
	case "nfs-expand":
		return d.system.ModifyFileSystem(&types.FSModify{Size: cmd.SizeBytes}, cmd.ID)
	case "nfs-snapshot":
		resp, err := d.system.CreateFileSystemSnapshot(&types.CreateFileSystemSnapshotParam{Name: cmd.Name}, cmd.ID)
		if err == nil {
			result["id"] = resp.ID
		}
		return err
	case "nfs-restore":
		_, err := d.system.RestoreFileSystemFromSnapshot(&types.RestoreFsSnapParam{SnapshotID: cmd.Source}, cmd.ID)
		return err
	case "nfs-delete":
		return d.system.DeleteFileSystem(cmd.Name)
	}
	return fmt.Errorf("unknown op %q", cmd.Op)
}

// probe: the driver's systemProbe — a client, a login (goscaleio then asks the gateway version), the system.
func (d *driver) probe(cmd command, result map[string]interface{}) error {
	client, err := goscaleio.NewClientWithArgs(cmd.Endpoint, "", 60, true, false)
	if err != nil {
		return err
	}
	// The sidecar's driver config carries placeholder credentials: storage-authz answers the login.
	config := goscaleio.ConfigConnect{Endpoint: cmd.Endpoint, Username: "placeholder", Password: "placeholder", Insecure: true}
	if _, err := client.Authenticate(&config); err != nil {
		return err
	}
	system, err := client.FindSystem(cmd.SystemID, "", "")
	if err != nil {
		return err
	}
	d.client, d.system = client, system
	result["version"] = client.GetConfigConnect().Version
	result["token"] = client.GetToken()
	return nil
}

// capacity: GetCapacity (system and pool statistics from their links) and the maximum volume size
// (querySystemLimits), as the driver reports them for storage-capacity tracking.
func (d *driver) capacity(cmd command, result map[string]interface{}) error {
	systemStats, err := d.system.GetStatistics()
	if err != nil {
		return err
	}
	domains, err := d.system.GetProtectionDomain("")
	if err != nil {
		return err
	}
	pool, err := d.client.FindStoragePool("", cmd.Pool, "", "")
	if err != nil {
		return err
	}
	poolStats, err := goscaleio.NewStoragePoolEx(d.client, pool).GetStatistics()
	if err != nil {
		return err
	}
	maxVolume, err := d.client.GetMaxVol()
	if err != nil {
		return err
	}
	result["systemCapacityInUseInKb"] = systemStats.CapacityInUseInKb
	result["poolCapacityAvailableInKb"] = poolStats.CapacityAvailableForVolumeAllocationInKb
	result["protectionDomains"] = len(domains)
	result["maxVolumeSizeGb"] = maxVolume
	return nil
}

// create: CreateVolume — idempotency lookup by name (queryIdByKey), create in the named pool, read it back.
func (d *driver) create(cmd command, result map[string]interface{}) error {
	if id, err := d.client.FindVolumeID(cmd.Name); err == nil {
		result["id"], result["existed"] = id, true
		return nil
	}
	param := &types.VolumeParam{Name: cmd.Name, VolumeSizeInKb: strconv.FormatInt(cmd.SizeGiB*1024*1024, 10), VolumeType: "ThinProvisioned"}
	created, err := d.client.CreateVolume(param, cmd.Pool, "")
	if err != nil {
		return err
	}
	vol, err := d.volume(created.ID)
	if err != nil {
		return err
	}
	result["id"], result["sizeInKb"] = vol.ID, vol.SizeInKb
	return nil
}

// publish: ControllerPublishVolume — the volume, the node's SDC by GUID, the mapping, its limits.
func (d *driver) publish(cmd command) error {
	target, sdc, err := d.volumeAndSdc(cmd)
	if err != nil {
		return err
	}
	if err := target.MapVolumeSdc(&types.MapVolumeSdcParam{SdcID: sdc.Sdc.ID, AllowMultipleMappings: "FALSE", AllSdcs: ""}); err != nil {
		return err
	}
	return target.SetMappedSdcLimits(&types.SetMappedSdcLimitsParam{SdcID: sdc.Sdc.ID, IopsLimit: "1000"})
}

// unpublish: ControllerUnpublishVolume.
func (d *driver) unpublish(cmd command) error {
	target, sdc, err := d.volumeAndSdc(cmd)
	if err != nil {
		return err
	}
	return target.UnmapVolumeSdc(&types.UnmapVolumeSdcParam{SdcID: sdc.Sdc.ID, IgnoreScsiInitiators: "true"})
}

// expand: ControllerExpandVolume — setVolumeSize in whole GiB on the volume's self link.
func (d *driver) expand(cmd command, result map[string]interface{}) error {
	vol, err := d.volume(cmd.ID)
	if err != nil {
		return err
	}
	target := goscaleio.NewVolume(d.client)
	target.Volume = vol
	if err := target.SetVolumeSize(strconv.FormatInt(cmd.SizeGiB, 10)); err != nil {
		return err
	}
	if vol, err = d.volume(cmd.ID); err != nil {
		return err
	}
	result["sizeInKb"] = vol.SizeInKb
	result["volumeReplicationState"] = vol.VolumeReplicationState
	return nil
}

// snapshot: CreateSnapshot — snapshotVolumes on the system's self link, then the snapshot itself.
func (d *driver) snapshot(cmd command, result map[string]interface{}) error {
	resp, err := d.system.CreateSnapshotConsistencyGroup(&types.SnapshotVolumesParam{SnapshotDefs: []*types.SnapshotDef{{VolumeID: cmd.ID, SnapshotName: cmd.Name}}})
	if err != nil {
		return err
	}
	if len(resp.VolumeIDList) != 1 {
		return fmt.Errorf("snapshotVolumes returned %d ids", len(resp.VolumeIDList))
	}
	snap, err := d.volume(resp.VolumeIDList[0])
	if err != nil {
		return err
	}
	result["id"], result["sizeInKb"], result["ancestorVolumeId"] = snap.ID, snap.SizeInKb, snap.AncestorVolumeID
	return nil
}

// nfsCreate: CreateVolume with nasName — the NAS server by name, idempotency by name, create, read back.
func (d *driver) nfsCreate(cmd command, result map[string]interface{}) error {
	nas, err := d.system.GetNASByIDName("", cmd.Nas)
	if err != nil {
		return err
	}
	pool, err := d.client.FindStoragePool("", cmd.Pool, "", "")
	if err != nil {
		return err
	}
	if existing, _ := d.system.GetFileSystemByIDName("", cmd.Name); existing != nil {
		result["id"], result["existed"] = existing.ID, true
		return nil
	}
	created, err := d.system.CreateFileSystem(&types.FsCreate{Name: cmd.Name, SizeTotal: cmd.SizeBytes, StoragePoolID: pool.ID, NasServerID: nas.ID})
	if err != nil {
		return err
	}
	fs, err := d.system.GetFileSystemByIDName(created.ID, "")
	if err != nil {
		return err
	}
	result["id"], result["sizeTotal"] = fs.ID, fs.SizeTotal
	return nil
}

func (d *driver) volume(id string) (*types.Volume, error) {
	vols, err := d.client.GetVolume("", id, "", "", false)
	if err != nil {
		return nil, err
	}
	if len(vols) != 1 {
		return nil, fmt.Errorf("volume %s: %d found", id, len(vols))
	}
	return vols[0], nil
}

func (d *driver) volumeAndSdc(cmd command) (*goscaleio.Volume, *goscaleio.Sdc, error) {
	vol, err := d.volume(cmd.ID)
	if err != nil {
		return nil, nil, err
	}
	sdc, err := d.system.FindSdc("SdcGUID", cmd.SdcGUID)
	if err != nil {
		return nil, nil, err
	}
	target := goscaleio.NewVolume(d.client)
	target.Volume = vol
	return target, sdc, nil
}
