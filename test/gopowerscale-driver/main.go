// The csi-powerscale controller's calls made by Dell's own client library, gopowerscale v1.21.0 (the
// library csi-powerscale HEAD imports): one JSON command per line on stdin, one JSON result per line
// on stdout, so a test can look at the ledger between two calls. Nothing here builds a request:
// every path, header and body is gopowerscale's.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	isi "github.com/dell/gopowerscale"
	"github.com/dell/gopowerscale/api"
)

type command struct {
	Op       string   `json:"op"`
	Endpoint string   `json:"endpoint"`
	Username string   `json:"username"`
	Password string   `json:"password"`
	IsiPath  string   `json:"isiPath"`
	Name     string   `json:"name"`
	Zone     string   `json:"zone"`
	Size     int64    `json:"size"`
	QuotaID  string   `json:"quotaId"`
	ExportID int      `json:"exportId"`
	SnapID   int64    `json:"snapshotId"`
	Snapshot string   `json:"snapshot"`
	Clients  []string `json:"clients"`
}

type result map[string]interface{}

func main() {
	ctx := context.Background()
	var client *isi.Client
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
			var jsonErr *api.JSONError
			if errors.As(err, &jsonErr) {
				res["status"] = jsonErr.StatusCode
			}
		}
		_ = out.Encode(res)
	}
}

func run(ctx context.Context, client **isi.Client, cmd command) (result, error) {
	path := cmd.IsiPath + "/" + cmd.Name
	if cmd.Op == "connect" {
		// As csi-powerscale connects: session-based auth (authType 1) with the driver secret's
		// (placeholder) credentials, the isiPath as the volumes path, certificates not checked.
		c, err := isi.NewClientWithArgs(ctx, cmd.Endpoint, true, 1, cmd.Username, "", cmd.Password, cmd.IsiPath, "0777", false, 1)
		if err != nil {
			return nil, err
		}
		*client = c
		config, err := c.GetClusterConfig(ctx)
		if err != nil {
			return nil, err
		}
		return result{"name": config.Name}, nil
	}
	c := *client
	if c == nil {
		return nil, fmt.Errorf("not connected")
	}
	switch cmd.Op {
	case "exists":
		// CreateVolume's first check (ps#4), then the export lookup by path (ps#5).
		_, err := c.GetVolumeWithIsiPath(ctx, cmd.IsiPath, "", cmd.Name)
		export, exportErr := c.GetExportWithPathAndZone(ctx, path, cmd.Zone)
		if exportErr != nil {
			return nil, exportErr
		}
		return result{"exists": err == nil, "exported": export != nil}, nil
	case "create-dir":
		// csi-powerscale passes the PV's metadata as these headers (ps#6).
		metadata := map[string]string{"x-csi-pv-name": cmd.Name, "x-csi-pv-claimname": "pvc-" + cmd.Name, "x-csi-pv-namespace": "default"}
		_, err := c.CreateVolumeWithIsipathMetaData(ctx, cmd.IsiPath, cmd.Name, "0777", metadata)
		return nil, err
	case "license":
		licensed, err := c.IsQuotaLicenseActivated(ctx)
		return result{"licensed": licensed}, err
	case "create-quota":
		id, err := c.CreateQuotaWithPath(ctx, path, true, cmd.Size, 0, 0, 0)
		return result{"quotaId": id}, err
	case "export":
		id, err := c.ExportVolumeWithZoneAndPath(ctx, path, cmd.Zone, "CSI_QUOTA_ID:"+cmd.QuotaID)
		return result{"exportId": id}, err
	case "get-export":
		export, err := c.GetExportByIDWithZone(ctx, cmd.ExportID, cmd.Zone)
		if err != nil {
			return nil, err
		}
		return result{"paths": *export.Paths, "description": export.Description}, nil
	case "add-clients":
		return nil, c.AddExportClientsByIDWithZone(ctx, cmd.ExportID, cmd.Zone, cmd.Clients, true)
	case "get-quota":
		quota, err := c.GetQuotaByID(ctx, cmd.QuotaID)
		if err != nil {
			return nil, err
		}
		return result{"path": quota.Path, "hard": quota.Thresholds.Hard}, nil
	case "update-quota":
		return nil, c.UpdateQuotaSizeByID(ctx, cmd.QuotaID, cmd.Size, 0, 0, 0)
	case "snapshot":
		snapshot, err := c.CreateSnapshotWithPath(ctx, path, cmd.Snapshot)
		if err != nil {
			return nil, err
		}
		return result{"snapshotId": snapshot.ID}, nil
	case "remove-snapshot":
		return nil, c.RemoveSnapshot(ctx, cmd.SnapID, cmd.Snapshot)
	case "clear-quota":
		return nil, c.ClearQuotaByID(ctx, cmd.QuotaID)
	case "unexport":
		return nil, c.UnexportByIDWithZone(ctx, cmd.ExportID, cmd.Zone)
	case "delete-dir":
		return nil, c.DeleteVolumeWithIsiPath(ctx, cmd.IsiPath, cmd.Name)
	}
	return nil, fmt.Errorf("unknown op %q", cmd.Op)
}
