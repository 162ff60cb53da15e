// The csi-powermax controller's calls made by Dell's own client library, gopowermax v2.11.0 (the
// version csi-powermax pins): one JSON command per line on stdin, one JSON result per line on
// stdout, so a test can look at the ledger between two calls. Nothing here builds a request: every
// path and body is gopowermax's.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	pmax "github.com/dell/gopowermax/v2"
	types "github.com/dell/gopowermax/v2/types/v100"
)

type command struct {
	Op         string `json:"op"`
	Endpoint   string `json:"endpoint"`
	SymID      string `json:"symId"`
	SG         string `json:"sg"`
	Name       string `json:"name"`
	Size       int    `json:"size"`
	Unit       string `json:"unit"`
	VolumeID   string `json:"volumeId"`
	TargetID   string `json:"targetId"`
	Snapshot   string `json:"snapshot"`
	NewName    string `json:"newName"`
	Username   string `json:"username"`
	Password   string `json:"password"`
	Generation int64  `json:"generation"`
}

type result map[string]interface{}

func main() {
	ctx := context.Background()
	var client pmax.Pmax
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var cmd command
		if err := json.Unmarshal(in.Bytes(), &cmd); err != nil {
			_ = out.Encode(result{"ok": false, "message": err.Error()})
			continue
		}
		res, err := run(ctx, &client, cmd)
		if res == nil {
			res = result{}
		}
		res["op"] = cmd.Op
		res["ok"] = err == nil
		if err != nil {
			res["message"] = err.Error()
		}
		_ = out.Encode(res)
	}
}

func run(ctx context.Context, client *pmax.Pmax, cmd command) (result, error) {
	if cmd.Op == "connect" {
		// The driver (through csipowermax-reverseproxy) connects with its own, placeholder, credentials.
		c, err := pmax.NewClientWithArgs(cmd.Endpoint, "CSI Driver for Dell EMC PowerMax/v2.11.0", true, false, "")
		if err != nil {
			return nil, err
		}
		if err := c.Authenticate(ctx, &pmax.ConfigConnect{Endpoint: cmd.Endpoint, Version: "100", Username: cmd.Username, Password: cmd.Password}); err != nil {
			return nil, err
		}
		*client = c
		sym, err := c.GetSymmetrixByID(ctx, cmd.SymID)
		if err != nil {
			return nil, err
		}
		return result{"symmetrixId": sym.SymmetrixID, "local": sym.Local}, nil
	}
	c := *client
	if c == nil {
		return nil, fmt.Errorf("not connected")
	}
	switch cmd.Op {
	case "create":
		// gopowermax takes cylinders as an int and other units as a string (it compares cap_gb to it).
		opts := map[string]interface{}{}
		var size interface{} = cmd.Size
		if cmd.Unit != "" && cmd.Unit != "CYL" {
			opts["capacityUnit"] = cmd.Unit
			size = strconv.Itoa(cmd.Size)
		}
		vol, err := c.CreateVolumeInStorageGroupS(ctx, cmd.SymID, cmd.SG, cmd.Name, size, opts)
		if err != nil {
			return nil, err
		}
		return result{"volumeId": vol.VolumeID, "capCyl": vol.CapacityCYL}, nil
	case "get":
		vol, err := c.GetVolumeByID(ctx, cmd.SymID, cmd.VolumeID)
		if err != nil {
			return nil, err
		}
		return result{"volumeId": vol.VolumeID, "name": vol.VolumeIdentifier, "capCyl": vol.CapacityCYL, "storageGroups": vol.StorageGroupIDList}, nil
	case "add":
		return nil, c.AddVolumesToStorageGroupS(ctx, cmd.SymID, cmd.SG, true, cmd.VolumeID)
	case "remove":
		_, err := c.RemoveVolumesFromStorageGroup(ctx, cmd.SymID, cmd.SG, true, cmd.VolumeID)
		return nil, err
	case "expand":
		units := []string{}
		if cmd.Unit != "" {
			units = append(units, cmd.Unit)
		}
		vol, err := c.ExpandVolume(ctx, cmd.SymID, cmd.VolumeID, 0, cmd.Size, units...)
		if err != nil {
			return nil, err
		}
		return result{"capCyl": vol.CapacityCYL}, nil
	case "snapshot":
		return nil, c.CreateSnapshot(ctx, cmd.SymID, cmd.Snapshot, []types.VolumeList{{Name: cmd.VolumeID}}, 0)
	case "link", "unlink":
		action := "Link"
		if cmd.Op == "unlink" {
			action = "Unlink"
		}
		return nil, c.ModifySnapshotS(ctx, cmd.SymID, []types.VolumeList{{Name: cmd.VolumeID}}, []types.VolumeList{{Name: cmd.TargetID}}, cmd.Snapshot, action, "", cmd.Generation, false)
	case "delete-snapshot":
		return nil, c.DeleteSnapshotS(ctx, cmd.SymID, cmd.Snapshot, []types.VolumeList{{Name: cmd.VolumeID}}, cmd.Generation)
	case "rename":
		vol, err := c.RenameVolume(ctx, cmd.SymID, cmd.VolumeID, cmd.NewName)
		if err != nil {
			return nil, err
		}
		return result{"name": vol.VolumeIdentifier}, nil
	case "delete":
		return nil, c.DeleteVolume(ctx, cmd.SymID, cmd.VolumeID)
	}
	return nil, fmt.Errorf("unknown op %q", cmd.Op)
}
