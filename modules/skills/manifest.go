package skills

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Manifest is skill.json: the package's facts for programs. It never holds
// a secret.
type Manifest struct {
	SchemaVersion          int                 `json:"schema_version"`
	AgentID                string              `json:"agent_id"`
	Handle                 string              `json:"handle"`
	Name                   string              `json:"name"`
	BaseURL                string              `json:"base_url"`
	APIBaseURL             string              `json:"api_base_url"`
	Auth                   ManifestAuth        `json:"auth"`
	PollingIntervalSeconds int                 `json:"polling_interval_seconds"`
	LongPollMaxWaitSeconds int                 `json:"long_poll_max_wait_seconds"`
	AcceptMode             string              `json:"accept_mode,omitempty"`
	SettingsVersion        int                 `json:"settings_version"`
	PackageVersion         int                 `json:"package_version"`
	RenderedAt             time.Time           `json:"rendered_at"`
	EventTypes             []string            `json:"event_types"`
	Endpoints              map[string]Endpoint `json:"endpoints"`
	// Files maps every other file of the package to its hex SHA-256.
	Files map[string]string `json:"files"`
}

// ManifestAuth says how to authenticate, never with what.
type ManifestAuth struct {
	Scheme string `json:"scheme"` // "bearer"
	Header string `json:"header"` // "Authorization"
	Env    string `json:"env"`    // where the runtime keeps the key
}

// Endpoint is one agent operation. Path is as in the spec (it starts with
// /v1); URL is base_url + path.
type Endpoint struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	URL    string `json:"url"`
}

// manifestSchemaVersion changes when skill.json's shape does.
const manifestSchemaVersion = 1

func renderManifest(in Input, ops []operation, files []File) ([]byte, error) {
	m := Manifest{
		SchemaVersion: manifestSchemaVersion,
		AgentID:       in.AgentID, Handle: in.Handle, Name: in.Name,
		BaseURL: in.BaseURL, APIBaseURL: in.BaseURL + "/v1",
		Auth:                   ManifestAuth{Scheme: "bearer", Header: "Authorization", Env: KeyEnv},
		PollingIntervalSeconds: in.PollingIntervalSeconds, LongPollMaxWaitSeconds: MaxLongPollSeconds,
		AcceptMode:      in.AcceptMode,
		SettingsVersion: in.SettingsVersion, PackageVersion: in.PackageVersion,
		RenderedAt: in.RenderedAt,
		EventTypes: EventTypes,
		Endpoints:  make(map[string]Endpoint, len(ops)),
		Files:      make(map[string]string, len(files)),
	}
	for _, o := range ops {
		m.Endpoints[o.ID] = Endpoint{Method: o.Method, Path: o.Path, URL: in.BaseURL + o.Path}
	}
	for _, f := range files {
		sum := sha256.Sum256(f.Body)
		m.Files[f.Name] = hex.EncodeToString(sum[:])
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("encode skill.json: %w", err)
	}
	return b.Bytes(), nil
}
