// powerstore-csi-driver: the PowerStore CSI driver's controller calls, made with Dell's own client
// library (github.com/dell/gopowerstore v1.20.1, what csi-powerstore v2.15.1 pins) against an
// endpoint that looks like a PowerStore (in the tests: the tenant sidecar at https://localhost:<port>).
// A line protocol, so a test can check the quota ledger between two driver calls: one JSON command
// per stdin line, one JSON result per stdout line.
//
// Each command performs what csi-powerstore's controller does for that CSI call (pkg/controller,
// pkg/array; sequence recorded in reference/array-clients/powerstore.md), through gopowerstore.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/dell/gopowerstore"
)

type command struct {
	Op        string `json:"op"`
	Endpoint  string `json:"endpoint"`
	Name      string `json:"name"`
	ID        string `json:"id"`
	SizeBytes int64  `json:"sizeBytes"`
	Host      string `json:"host"`
	Nas       string `json:"nas"`
	IP        string `json:"ip"`
}

// The CSI driver's ReservedSize: what it adds to a file system's requested size (pkg/controller/fs).
const reservedSize = 1610612736

type driver struct {
	client gopowerstore.Client
}

func main() {
	// gopowerstore logs "Session management is enabled." with the standard logger: keep stdout for results.
	log.SetOutput(os.Stderr)
	d := &driver{}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var cmd command
		result := map[string]interface{}{}
		err := json.Unmarshal(in.Bytes(), &cmd)
		if err == nil {
			err = d.run(cmd, result)
		}
		if err != nil {
			result = map[string]interface{}{"ok": false, "message": err.Error()}
			var apiErr gopowerstore.APIError
			if errors.As(err, &apiErr) && apiErr.ErrorMsg != nil {
				result["status"] = apiErr.StatusCode
				result["message"] = apiErr.Message
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
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if cmd.Op != "connect" && d.client == nil {
		return errors.New("connect first")
	}
	c := d.client
	switch cmd.Op {
	case "connect":
		// As the driver does (pkg/array): the secret's user and password (placeholders here: the
		// sidecar answers the login), Insecure as the secret says, and a real timeout (the
		// library's default of 120 is nanoseconds).
		options := gopowerstore.NewClientOptions()
		options.SetInsecure(true)
		options.SetDefaultTimeout(30 * time.Second)
		client, err := gopowerstore.NewClientWithArgs(cmd.Endpoint+"/api/rest", "placeholder", "placeholder", options)
		if err != nil {
			return err
		}
		client.SetCustomHTTPHeaders(http.Header{"Application-Type": {"CSI Driver for Dell EMC PowerStore/2.15.1"}})
		d.client = client
		if _, err := client.GetSoftwareMajorMinorVersion(ctx); err != nil {
			return err
		}
		cluster, err := client.GetCluster(ctx)
		if err != nil {
			return err
		}
		result["cluster"] = cluster.Name
	case "createVolume":
		// CreateVolume: idempotent by name, then create and read back.
		if existing, err := c.GetVolumeByName(ctx, cmd.Name); err == nil {
			result["id"] = existing.ID
			result["existed"] = true
			return nil
		} else if !notFound(err) {
			return err
		}
		name, size := cmd.Name, cmd.SizeBytes
		created, err := c.CreateVolume(ctx, &gopowerstore.VolumeCreate{Name: &name, Size: &size})
		if err != nil {
			return err
		}
		volume, err := c.GetVolume(ctx, created.ID)
		if err != nil {
			return err
		}
		result["id"] = volume.ID
		result["size"] = volume.Size
	case "expandVolume":
		// ControllerExpandVolume: read, then grow only if smaller.
		volume, err := c.GetVolume(ctx, cmd.ID)
		if err != nil {
			return err
		}
		if volume.Size < cmd.SizeBytes {
			if _, err := c.ModifyVolume(ctx, &gopowerstore.VolumeModify{Size: cmd.SizeBytes}, cmd.ID); err != nil {
				return err
			}
		}
	case "snapshot":
		name, description := cmd.Name, ""
		created, err := c.CreateSnapshot(ctx, &gopowerstore.SnapshotCreate{Name: &name, Description: &description}, cmd.ID)
		if err != nil {
			return err
		}
		result["id"] = created.ID
	case "cloneVolume":
		name := cmd.Name
		created, err := c.CloneVolume(ctx, &gopowerstore.VolumeClone{Name: &name}, cmd.ID)
		if err != nil {
			return err
		}
		result["id"] = created.ID
	case "createFromSnapshot":
		name := cmd.Name
		created, err := c.CreateVolumeFromSnapshot(ctx, &gopowerstore.VolumeClone{Name: &name}, cmd.ID)
		if err != nil {
			return err
		}
		result["id"] = created.ID
	case "attach":
		// ControllerPublishVolume (block): the node's host, its mappings, attach, then the LUN.
		host, err := c.GetHostByName(ctx, cmd.Host)
		if err != nil {
			return err
		}
		volumeID := cmd.ID
		if _, err := c.AttachVolumeToHost(ctx, host.ID, &gopowerstore.HostVolumeAttach{VolumeID: &volumeID}); err != nil {
			return err
		}
		mappings, err := c.GetHostVolumeMappingByVolumeID(ctx, cmd.ID)
		if err != nil {
			return err
		}
		if len(mappings) == 0 {
			return errors.New("attached volume has no mapping")
		}
		result["lun"] = mappings[0].LogicalUnitNumber
	case "detach":
		host, err := c.GetHostByName(ctx, cmd.Host)
		if err != nil {
			return err
		}
		volumeID := cmd.ID
		if _, err := c.DetachVolumeFromHost(ctx, host.ID, &gopowerstore.HostVolumeDetach{VolumeID: &volumeID}); err != nil {
			return err
		}
	case "deleteVolume":
		if _, err := c.DeleteVolume(ctx, nil, cmd.ID); err != nil {
			return err
		}
	case "createFS":
		// CreateVolume (NFS): the NAS server by name, the size plus the driver's reserve.
		if existing, err := c.GetFSByName(ctx, cmd.Name); err == nil {
			result["id"] = existing.ID
			result["existed"] = true
			return nil
		} else if !notFound(err) {
			return err
		}
		nas, err := c.GetNASByName(ctx, cmd.Nas)
		if err != nil {
			return err
		}
		created, err := c.CreateFS(ctx, &gopowerstore.FsCreate{Name: cmd.Name, NASServerID: nas.ID, Size: cmd.SizeBytes + reservedSize})
		if err != nil {
			return err
		}
		fs, err := c.GetFS(ctx, created.ID)
		if err != nil {
			return err
		}
		result["id"] = fs.ID
		result["sizeTotal"] = fs.SizeTotal
	case "export":
		// ControllerPublishVolume (NFS): find or create the export, then add the node's address.
		fs, err := c.GetFS(ctx, cmd.ID)
		if err != nil {
			return err
		}
		nfsExport, err := c.GetNFSExportByFileSystemID(ctx, cmd.ID)
		exportID := nfsExport.ID
		if err != nil {
			if !notFound(err) {
				return err
			}
			created, err := c.CreateNFSExport(ctx, &gopowerstore.NFSExportCreate{Name: fs.Name, FileSystemID: fs.ID, Path: "/" + fs.Name})
			if err != nil {
				return err
			}
			exportID = created.ID
		}
		if _, err := c.ModifyNFSExport(ctx, &gopowerstore.NFSExportModify{AddRWRootHosts: []string{cmd.IP}}, exportID); err != nil {
			return err
		}
		result["exportId"] = exportID
	case "unexport":
		nfsExport, err := c.GetNFSExportByFileSystemID(ctx, cmd.ID)
		if err != nil {
			return err
		}
		if _, err := c.ModifyNFSExport(ctx, &gopowerstore.NFSExportModify{RemoveRWRootHosts: []string{cmd.IP}}, nfsExport.ID); err != nil {
			return err
		}
	case "expandFS":
		fs, err := c.GetFS(ctx, cmd.ID)
		if err != nil {
			return err
		}
		want := cmd.SizeBytes + reservedSize
		if fs.SizeTotal < want {
			if _, err := c.ModifyFS(ctx, &gopowerstore.FSModify{Size: int(want)}, cmd.ID); err != nil {
				return err
			}
		}
	case "deleteFS":
		if _, err := c.DeleteFS(ctx, cmd.ID); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown op %q", cmd.Op)
	}
	return nil
}

func notFound(err error) bool {
	var apiErr gopowerstore.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorMsg != nil && apiErr.NotFound()
}
