package skills

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/marketplace"
)

// Record is one rendered package version of an agent.
type Record struct {
	AgentID         string
	Version         int
	SettingsVersion int
	SHA256          string
	Size            int64
	BlobKey         string
	CreatedAt       time.Time
}

// Packages stores package records. Insert reports a second package for the
// same settings version as kernel.ErrConflict; Latest reports kernel.ErrNotFound.
type Packages interface {
	Insert(ctx context.Context, r Record) error
	Latest(ctx context.Context, agentID string) (Record, error)
	NextVersion(ctx context.Context, agentID string) (int, error)
}

// Agents is what the skills module needs from the marketplace.
type Agents interface {
	Agent(ctx context.Context, id string) (marketplace.AgentRecord, error)
	Owned(ctx context.Context, p kernel.Principal, id string) (marketplace.AgentRecord, error)
	PackageRendered(ctx context.Context, id string, version int) error
}

// Service renders, stores and serves skill packages.
type Service struct {
	tx       kernel.Tx
	packages Packages
	agents   Agents
	blobs    kernel.Blobs
	clock    kernel.Clock
	baseURL  string
	spec     *openapi3.T
}

// NewService parses the spec once and builds the service.
func NewService(tx kernel.Tx, p Packages, a Agents, b kernel.Blobs, clock kernel.Clock, baseURL string, spec []byte) (*Service, error) {
	doc, err := ParseSpec(spec)
	if err != nil {
		return nil, err
	}
	return &Service{tx: tx, packages: p, agents: a, blobs: b, clock: clock, baseURL: baseURL, spec: doc}, nil
}

// RenderFor renders a new package version for the agent's settings version,
// once: a retried job finds it rendered and does nothing. A job for an
// older settings version than the live one does nothing either (a newer
// job renders the live settings).
func (s *Service) RenderFor(ctx context.Context, agentID string, settingsVersion int) error {
	a, err := s.agents.Agent(ctx, agentID)
	if err != nil {
		return err
	}
	if a.SettingsVersion != settingsVersion {
		return nil
	}
	latest, err := s.packages.Latest(ctx, agentID)
	switch {
	case err == nil && latest.SettingsVersion >= settingsVersion:
		return nil
	case err != nil && !errors.Is(err, kernel.ErrNotFound):
		return err
	}
	version, err := s.packages.NextVersion(ctx, agentID)
	if err != nil {
		return err
	}
	st := a.Settings
	tiers := make([]Tier, len(st.Tiers))
	for i, t := range st.Tiers {
		tiers[i] = Tier(t)
	}
	now := s.clock.Now()
	pkg, err := RenderSpec(Input{
		AgentID: a.ID, Handle: a.Handle, Name: st.Name, Specialty: st.Specialty, Description: st.Description,
		Categories: st.Categories, Skills: st.Skills, Plugins: st.Plugins, Tiers: tiers,
		PollingIntervalSeconds: st.PollingIntervalSeconds, AcceptMode: string(st.AcceptMode),
		SettingsVersion: settingsVersion, PackageVersion: version, BaseURL: s.baseURL, RenderedAt: now,
	}, s.spec)
	if err != nil {
		return err
	}
	key := fmt.Sprintf("skills/%s/v%d-%s.zip", a.ID, version, pkg.SHA256[:12])
	blob, err := s.blobs.Put(ctx, key, bytes.NewReader(pkg.Zip), 0)
	if err != nil {
		return err
	}
	err = s.tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.packages.Insert(ctx, Record{AgentID: a.ID, Version: version, SettingsVersion: settingsVersion,
			SHA256: blob.SHA256, Size: blob.Size, BlobKey: key, CreatedAt: now}); err != nil {
			return err
		}
		return s.agents.PackageRendered(ctx, a.ID, version)
	})
	if err != nil {
		_ = s.blobs.Delete(context.WithoutCancel(ctx), key)
		if errors.Is(err, kernel.ErrConflict) { // a concurrent run got there first
			return nil
		}
	}
	return err
}

// Download opens the latest package of one of the owner's agents.
func (s *Service) Download(ctx context.Context, p kernel.Principal, agentID string) (io.ReadSeekCloser, Record, string, error) {
	a, err := s.agents.Owned(ctx, p, agentID)
	if err != nil {
		return nil, Record{}, "", err
	}
	r, err := s.packages.Latest(ctx, a.ID)
	if errors.Is(err, kernel.ErrNotFound) {
		e := kernel.Conflict("package-not-ready", "the skill package is being rendered; try again in a few seconds")
		e.RetryAfter = 5 * time.Second
		return nil, Record{}, "", e
	}
	if err != nil {
		return nil, Record{}, "", err
	}
	f, err := s.blobs.Open(ctx, r.BlobKey)
	return f, r, a.Handle, err
}
