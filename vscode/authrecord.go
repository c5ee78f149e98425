package vscode

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/entrakit/entrakit/authority"
	"github.com/entrakit/entrakit/internal/safefile"
)

// MaxAuthRecordSize is azure-identity's limit on authRecord.json.
const MaxAuthRecordSize = 10 * 1024

// AuthRecord is the sign-in record the newer Azure Resources extension writes: who is signed in.
// It holds no secret.
type AuthRecord struct {
	Authority     string `json:"authority"`
	ClientID      string `json:"clientId"`
	HomeAccountID string `json:"homeAccountId"`
	TenantID      string `json:"tenantId"`
	Username      string `json:"username"`
}

// AuthRecordPaths are where the Azure Resources extension keeps its record, in the order tried.
func AuthRecordPaths(home string) []string {
	return []string{
		filepath.Join(home, ".azure", "ms-azuretools.vscode-azureresourcegroups", "authRecord.json"),
		filepath.Join(home, ".Azure", "ms-azuretools.vscode-azureresourcegroups", "authRecord.json"),
	}
}

// ReadAuthRecord reads and validates the record at path. It returns nil and no error when the
// file does not exist.
func ReadAuthRecord(path string) (*AuthRecord, error) {
	b, err := safefile.ReadRegular(path, MaxAuthRecordSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("vscode: the Azure Resources extension's sign-in record: %w", err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || raw == nil {
		return nil, errors.New("vscode: the Azure Resources extension's sign-in record is not a JSON object")
	}
	var rec AuthRecord
	var problems []string
	field := func(name string, dst *string) {
		v, ok := raw[name]
		if !ok {
			problems = append(problems, name+" field is missing")
			return
		}
		if json.Unmarshal(v, dst) != nil || strings.TrimSpace(*dst) == "" {
			problems = append(problems, name+" must be a non-empty string")
		}
	}
	field("tenantId", &rec.TenantID)
	field("clientId", &rec.ClientID)
	field("username", &rec.Username)
	field("homeAccountId", &rec.HomeAccountID)
	field("authority", &rec.Authority)
	if rec.TenantID != "" {
		if err := authority.ValidateTenantID(rec.TenantID); err != nil {
			problems = append(problems, "tenantId validation failed: "+err.Error())
		}
	}
	if rec.ClientID != "" && rec.ClientID != ClientID {
		problems = append(problems, "clientId must match expected VS Code Azure Resources extension client ID: "+ClientID)
	}
	if len(problems) > 0 {
		return nil, errors.New("vscode: the Azure Resources extension's sign-in record is invalid: " + strings.Join(problems, "; "))
	}
	return &rec, nil
}
