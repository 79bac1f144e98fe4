package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/skills"
)

type packageRow struct {
	bun.BaseModel `bun:"table:skill_packages"`

	AgentID         string    `bun:"agent_id,pk"`
	Version         int       `bun:"version,pk"`
	SettingsVersion int       `bun:"settings_version"`
	SHA256          string    `bun:"sha256"`
	Size            int64     `bun:"size"`
	BlobKey         string    `bun:"blob_key"`
	CreatedAt       time.Time `bun:"created_at"`
}

// Skills implements the skills module's Packages.
type Skills struct{ db *DB }

// NewSkills returns the skill package store.
func NewSkills(db *DB) *Skills { return &Skills{db: db} }

var _ skills.Packages = (*Skills)(nil)

// Insert records a package; a second one for a settings version conflicts.
func (s *Skills) Insert(ctx context.Context, r skills.Record) error {
	_, err := s.db.Conn(ctx).NewInsert().Model(&packageRow{AgentID: r.AgentID, Version: r.Version,
		SettingsVersion: r.SettingsVersion, SHA256: r.SHA256, Size: r.Size, BlobKey: r.BlobKey, CreatedAt: r.CreatedAt}).Exec(ctx)
	if IsUniqueViolation(err) {
		return kernel.Conflict("package-exists", "a package for this settings version exists")
	}
	return err
}

// Latest returns the newest package of an agent.
func (s *Skills) Latest(ctx context.Context, agentID string) (skills.Record, error) {
	row := new(packageRow)
	err := s.db.Conn(ctx).NewSelect().Model(row).Where("agent_id = ?", agentID).OrderExpr("version DESC").Limit(1).Scan(ctx)
	if IsNoRows(err) {
		return skills.Record{}, kernel.NotFound("skill package")
	}
	if err != nil {
		return skills.Record{}, fmt.Errorf("select package: %w", err)
	}
	return skills.Record{AgentID: row.AgentID, Version: row.Version, SettingsVersion: row.SettingsVersion, SHA256: row.SHA256,
		Size: row.Size, BlobKey: row.BlobKey, CreatedAt: row.CreatedAt.UTC()}, nil
}

// NextVersion is one past the agent's newest package version.
func (s *Skills) NextVersion(ctx context.Context, agentID string) (int, error) {
	var v int
	err := s.db.Conn(ctx).NewSelect().Model((*packageRow)(nil)).ColumnExpr("COALESCE(MAX(version), 0) + 1").
		Where("agent_id = ?", agentID).Scan(ctx, &v)
	return v, err
}
