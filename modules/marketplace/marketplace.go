// Package marketplace puts agents on the market: the create wizard,
// versioned settings, publishing, browse and search, agent API keys and
// avatars. Its root package is the facade other modules and adapters call.
package marketplace

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/marketplace/domain"
)

// Deps are what the service is built from.
type Deps struct {
	Tx     kernel.Tx
	Jobs   kernel.Jobs
	Clock  kernel.Clock
	Agents Agents
	Blobs  kernel.Blobs
	// KeyHMAC is the server secret agent keys are HMAC'd with.
	KeyHMAC []byte
	// OnSettingsChanged runs inside the transaction that saves a new
	// settings version (the ordering module tells the agent with an event).
	OnSettingsChanged func(ctx context.Context, agentID string, version int) error
	// Audit records security-relevant changes (key rotations) in the audit
	// log, inside their transaction; nil for none.
	Audit kernel.AuditFunc
	// OnKeyChanged runs inside the transaction that rotates an agent's key:
	// it must make every process call ForgetKey(agentID) once the
	// transaction commits (cmd/heepr wakes the agent through the wake hub).
	OnKeyChanged func(ctx context.Context, agentID string) error
	// KeysReliable reports whether OnKeyChanged's message reaches this
	// process (the wake hub is listening): only then are keys remembered
	// in memory (keyCache). Nil: keys are always read from the database.
	KeysReliable func() bool
}

// Service is the marketplace facade.
type Service struct {
	d    Deps
	keys keyCache
	mac  *kernel.MAC // keyed by d.KeyHMAC
}

// New builds the service.
func New(d Deps) *Service { return &Service{d: d, mac: kernel.NewMAC(d.KeyHMAC)} }

// MaxAvatarBytes bounds avatar uploads.
const MaxAvatarBytes = 2 << 20

// avatarTypes are the image types accepted, as sniffed from the bytes.
var avatarTypes = []string{"image/png", "image/jpeg", "image/webp"}

var errAgentNotFound = kernel.NotFound("agent")

// Created is a new agent with its API key, shown once.
type Created struct {
	Agent  domain.Agent
	APIKey string
}

// CreateAgent validates the wizard and creates a draft agent with its first
// settings version and an API key; the skill package is rendered by a job.
func (s *Service) CreateAgent(ctx context.Context, p kernel.Principal, handle string, st domain.Settings) (Created, error) {
	st.Normalize()
	handle = strings.TrimSpace(handle)
	var f kernel.Fields
	domain.ValidateHandle(&f, handle)
	if err := st.Validate(); err != nil {
		if e, ok := kernel.As(err); ok {
			f = append(f, e.Fields...)
		}
	}
	if err := f.Err(); err != nil {
		return Created{}, err
	}
	now := s.d.Clock.Now()
	key := kernel.NewToken(kernel.AgentKeyPrefix)
	a := domain.Agent{
		ID: kernel.NewID(), OwnerID: p.UserID, Handle: handle, Status: domain.Draft, SettingsVersion: 1,
		Settings: st, KeyHash: s.hmac(key), KeyPrefix: kernel.TokenDisplayPrefix(key, kernel.AgentKeyPrefix),
		CreatedAt: now, UpdatedAt: now,
	}
	err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.Agents.Insert(ctx, a); err != nil {
			return err
		}
		return s.d.Jobs.Enqueue(ctx, SettingsChangedArgs{AgentID: a.ID, Version: 1})
	})
	if err != nil {
		return Created{}, err
	}
	return Created{Agent: a, APIKey: key}, nil
}

// Patch holds the settings an update changes (nil: unchanged).
type Patch struct {
	Name                   *string
	Specialty              *string
	Description            *string
	Categories             *[]string
	Skills                 *[]string
	Plugins                *[]string
	Tiers                  *[]domain.Tier
	PollingIntervalSeconds *int
	AcceptMode             *domain.AcceptMode
	AutoBands              **domain.Bands
}

func (pt Patch) apply(s domain.Settings) domain.Settings {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&s.Name, pt.Name)
	set(&s.Specialty, pt.Specialty)
	set(&s.Description, pt.Description)
	if pt.Categories != nil {
		s.Categories = slices.Clone(*pt.Categories)
	}
	if pt.Skills != nil {
		s.Skills = slices.Clone(*pt.Skills)
	}
	if pt.Plugins != nil {
		s.Plugins = slices.Clone(*pt.Plugins)
	}
	if pt.Tiers != nil {
		s.Tiers = slices.Clone(*pt.Tiers)
	}
	if pt.PollingIntervalSeconds != nil {
		s.PollingIntervalSeconds = *pt.PollingIntervalSeconds
	}
	if pt.AcceptMode != nil {
		s.AcceptMode = *pt.AcceptMode
		if s.AcceptMode == domain.AcceptManual && pt.AutoBands == nil {
			s.AutoBands = nil
		}
	}
	if pt.AutoBands != nil {
		s.AutoBands = *pt.AutoBands
	}
	return s
}

// CodeSettingsChanged is the conflict Agents.SaveSettings reports when
// another update saved a version first.
const CodeSettingsChanged = "settings-changed"

// updateAttempts bounds how often UpdateAgent re-applies a patch that lost
// a race with a concurrent update.
const updateAttempts = 5

// UpdateAgent applies a patch as a new settings version. Orders keep the
// version that was live when they were placed. An update that changes
// nothing creates no version. An update that loses a race with another is
// applied again on top of the winner's version.
func (s *Service) UpdateAgent(ctx context.Context, p kernel.Principal, id string, pt Patch) (domain.Agent, error) {
	for attempt := 1; ; attempt++ {
		a, err := s.updateAgent(ctx, p, id, pt)
		if e, ok := kernel.As(err); ok && e.Code == CodeSettingsChanged && attempt < updateAttempts && ctx.Err() == nil {
			continue
		}
		return a, err
	}
}

func (s *Service) updateAgent(ctx context.Context, p kernel.Principal, id string, pt Patch) (domain.Agent, error) {
	var out domain.Agent
	err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		a, err := s.owned(ctx, p, id)
		if err != nil {
			return err
		}
		next := pt.apply(a.Settings)
		next.Normalize()
		if err := next.Validate(); err != nil {
			return err
		}
		if sameSettings(a.Settings, next) {
			out = a
			return nil
		}
		a.Settings, a.SettingsVersion, a.UpdatedAt = next, a.SettingsVersion+1, s.d.Clock.Now()
		if err := s.d.Agents.SaveSettings(ctx, a); err != nil {
			return err
		}
		out = a
		if s.d.OnSettingsChanged != nil {
			if err := s.d.OnSettingsChanged(ctx, a.ID, a.SettingsVersion); err != nil {
				return fmt.Errorf("announce settings change: %w", err)
			}
		}
		return s.d.Jobs.Enqueue(ctx, SettingsChangedArgs{AgentID: a.ID, Version: a.SettingsVersion})
	})
	return out, err
}

// Publish puts an agent on the market.
func (s *Service) Publish(ctx context.Context, p kernel.Principal, id string) (domain.Agent, error) {
	return s.move(ctx, p, id, domain.Active)
}

// Pause takes an agent off the market; orders in progress continue.
func (s *Service) Pause(ctx context.Context, p kernel.Principal, id string) (domain.Agent, error) {
	return s.move(ctx, p, id, domain.Paused)
}

func (s *Service) move(ctx context.Context, p kernel.Principal, id string, to domain.Status) (domain.Agent, error) {
	var out domain.Agent
	err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		a, err := s.owned(ctx, p, id)
		if err != nil {
			return err
		}
		if err := domain.Transition(a.Status, to); err != nil {
			return err
		}
		now := s.d.Clock.Now()
		if a.Status != to {
			if err := s.d.Agents.SetStatus(ctx, a.ID, a.Status, to, now); err != nil {
				return err
			}
			if to == domain.Active && a.PublishedAt == nil {
				a.PublishedAt = &now
			}
			a.Status, a.UpdatedAt = to, now
		}
		out = a
		return nil
	})
	return out, err
}

// Suspend takes an agent off the market on support's decision, in the
// caller's transaction (moderation's): hidden from browse, its profile not
// found, no new work (ordering checks the status).
func (s *Service) Suspend(ctx context.Context, id string) (domain.Agent, error) {
	var out domain.Agent
	err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		a, err := s.d.Agents.Get(ctx, id)
		if errors.Is(err, kernel.ErrNotFound) {
			return errAgentNotFound
		}
		if err != nil {
			return err
		}
		if a.Status == domain.Suspended {
			return kernel.Conflict("agent-suspended", "the agent is already suspended")
		}
		now := s.d.Clock.Now()
		if err := s.d.Agents.Suspend(ctx, a.ID, a.Status, now); err != nil {
			return err
		}
		a.Status, a.UpdatedAt = domain.Suspended, now
		out = a
		return nil
	})
	return out, err
}

// Reinstate lifts a suspension: the agent returns to the status it had
// (an active agent is back on the market).
func (s *Service) Reinstate(ctx context.Context, id string) (domain.Agent, error) {
	var out domain.Agent
	err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		a, err := s.d.Agents.Get(ctx, id)
		if errors.Is(err, kernel.ErrNotFound) {
			return errAgentNotFound
		}
		if err != nil {
			return err
		}
		if a.Status != domain.Suspended {
			return kernel.Conflict("agent-not-suspended", "the agent is not suspended")
		}
		now := s.d.Clock.Now()
		to, err := s.d.Agents.Reinstate(ctx, a.ID, now)
		if err != nil {
			return err
		}
		a.Status, a.UpdatedAt = to, now
		out = a
		return nil
	})
	return out, err
}

// RotateKey issues a new API key; the old one stops working at once in this
// process, and in every other heepr process as soon as the wake hub's
// notification of the commit reaches it (OnKeyChanged; milliseconds).
func (s *Service) RotateKey(ctx context.Context, p kernel.Principal, id string) (string, error) {
	key := kernel.NewToken(kernel.AgentKeyPrefix)
	err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		a, err := s.owned(ctx, p, id)
		if err != nil {
			return err
		}
		if err := s.d.Agents.SetKey(ctx, a.ID, s.hmac(key), kernel.TokenDisplayPrefix(key, kernel.AgentKeyPrefix), s.d.Clock.Now()); err != nil {
			return err
		}
		if s.d.OnKeyChanged != nil {
			if err := s.d.OnKeyChanged(ctx, a.ID); err != nil {
				return err
			}
		}
		if s.d.Audit == nil {
			return nil
		}
		return s.d.Audit(ctx, p.Actor(), "marketplace.key_rotated", "agent:"+a.ID, "")
	})
	if err != nil {
		return "", err
	}
	return key, nil
}

// Mine lists the owner's agents, every status.
func (s *Service) Mine(ctx context.Context, p kernel.Principal) ([]domain.Agent, error) {
	return s.d.Agents.ByOwner(ctx, p.UserID)
}

// Versions lists an owned agent's settings versions, newest first.
func (s *Service) Versions(ctx context.Context, p kernel.Principal, id string) ([]Version, error) {
	if _, err := s.owned(ctx, p, id); err != nil {
		return nil, err
	}
	return s.d.Agents.Versions(ctx, id)
}

// Owned returns one of the owner's agents; anyone else's answers not found.
func (s *Service) Owned(ctx context.Context, p kernel.Principal, id string) (domain.Agent, error) {
	return s.owned(ctx, p, id)
}

func (s *Service) owned(ctx context.Context, p kernel.Principal, id string) (domain.Agent, error) {
	a, err := s.d.Agents.Get(ctx, id)
	if errors.Is(err, kernel.ErrNotFound) || (err == nil && a.OwnerID != p.UserID) {
		return domain.Agent{}, errAgentNotFound
	}
	return a, err
}

// Public returns a listed agent by id or handle; any other answers not found.
func (s *Service) Public(ctx context.Context, idOrHandle string) (domain.Agent, error) {
	a, err := s.d.Agents.Get(ctx, idOrHandle)
	if errors.Is(err, kernel.ErrNotFound) {
		a, err = s.d.Agents.GetByHandle(ctx, strings.ToLower(idOrHandle))
	}
	if errors.Is(err, kernel.ErrNotFound) || (err == nil && !domain.Listed(a.Status)) {
		return domain.Agent{}, errAgentNotFound
	}
	return a, err
}

// Agent returns any agent by id (for other modules: ordering checks status itself).
func (s *Service) Agent(ctx context.Context, id string) (domain.Agent, error) {
	return s.d.Agents.Get(ctx, id)
}

// Browse lists agents on the market. The cursor is the last position seen.
func (s *Service) Browse(ctx context.Context, q domain.Query, cursor string) ([]domain.Agent, string, error) {
	var f kernel.Fields
	q.Text = strings.TrimSpace(q.Text)
	if q.Sort == "" {
		q.Sort = domain.SortRelevance
	}
	if !slices.Contains(domain.Sorts, q.Sort) {
		f.Add("sort", "is not a sort")
	}
	if q.Category != "" && !slices.Contains(domain.Categories, q.Category) {
		f.Add("category", "is not a category")
	}
	if q.MinPrice > 0 && q.MaxPrice > 0 && q.MaxPrice < q.MinPrice {
		f.Add("max_price", "must be at least min_price")
	}
	if len(q.Text) > 200 {
		f.Add("q", "must be at most 200 characters")
	}
	if err := f.Err(); err != nil {
		return nil, "", err
	}
	if q.Sort == domain.SortRelevance && q.Text == "" {
		q.Sort = domain.SortNewest // nothing to rank by
	}
	if cursor != "" {
		var pos domain.Position
		if err := kernel.DecodeCursor(cursor, &pos); err != nil || pos.ID == "" {
			return nil, "", kernel.Invalid(kernel.FieldError{Field: "cursor", Detail: "is not a cursor this API issued"})
		}
		q.After = &pos
	}
	q.Limit = kernel.Limit(q.Limit, 20, 100)
	q.Now = s.d.Clock.Now()
	rows, err := s.d.Agents.Browse(ctx, q)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > q.Limit {
		rows = rows[:q.Limit]
		last := rows[len(rows)-1]
		next = kernel.EncodeCursor(domain.Position{Key: last.SortKey, ID: last.Agent.ID})
	}
	out := make([]domain.Agent, len(rows))
	for i, r := range rows {
		out[i] = r.Agent
	}
	return out, next, nil
}

// Online reports whether the agent polled recently.
func (s *Service) Online(a domain.Agent) bool {
	return domain.Online(a.LastPollAt, a.Settings.PollingIntervalSeconds, s.d.Clock.Now())
}

// AuthenticateKey resolves an agent API key to the agent principal. The
// checksum is checked before any database access; a suspended agent's key
// still authenticates (so it can read its events), every write checks status.
func (s *Service) AuthenticateKey(ctx context.Context, key string) (kernel.Principal, error) {
	bad := func() error { return kernel.Unauthenticated("invalid-token", "the agent key is not valid") }
	if !kernel.ValidToken(key, kernel.AgentKeyPrefix) {
		return kernel.Principal{}, bad()
	}
	id, err := s.agentByKeyHash(ctx, s.hmac(key))
	if errors.Is(err, kernel.ErrNotFound) {
		return kernel.Principal{}, bad()
	}
	if err != nil {
		return kernel.Principal{}, err
	}
	return kernel.Principal{Method: kernel.AuthAgent, AgentID: id, Roles: agentRoles}, nil
}

// agentRoles is every agent principal's roles, shared (capacity = length,
// so an append copies).
var agentRoles = []kernel.Role{kernel.RoleAgent}[:1:1]

// Self returns the calling agent.
func (s *Service) Self(ctx context.Context, p kernel.Principal) (domain.Agent, error) {
	return s.d.Agents.Get(ctx, p.AgentID)
}

// RecordPoll notes that the agent polled (it shows as online).
func (s *Service) RecordPoll(ctx context.Context, agentID string) error {
	return s.d.Agents.TouchPoll(ctx, agentID, s.d.Clock.Now())
}

// SetAvatar stores an owned agent's avatar: PNG, JPEG or WebP as sniffed
// from its bytes, at most 2 MiB, streamed to private storage.
func (s *Service) SetAvatar(ctx context.Context, p kernel.Principal, id string, body io.Reader) (domain.Agent, error) {
	a, err := s.owned(ctx, p, id)
	if err != nil {
		return domain.Agent{}, err
	}
	br := bufio.NewReaderSize(body, 512)
	head, _ := br.Peek(512)
	ct := http.DetectContentType(head)
	if !slices.Contains(avatarTypes, ct) {
		return domain.Agent{}, kernel.New(kernel.ErrInvalid, "unsupported-image", "the avatar must be a PNG, JPEG or WebP image")
	}
	key := fmt.Sprintf("avatars/%s/%s", a.ID, kernel.NewID())
	if _, err := s.d.Blobs.Put(ctx, key, br, MaxAvatarBytes); err != nil {
		return domain.Agent{}, err
	}
	now := s.d.Clock.Now()
	if err := s.d.Agents.SetAvatar(ctx, a.ID, key, ct, now); err != nil {
		_ = s.d.Blobs.Delete(context.WithoutCancel(ctx), key)
		return domain.Agent{}, err
	}
	if a.AvatarKey != "" {
		_ = s.d.Blobs.Delete(context.WithoutCancel(ctx), a.AvatarKey)
	}
	a.AvatarKey, a.AvatarType, a.UpdatedAt = key, ct, now
	return a, nil
}

// Avatar opens a listed agent's avatar (or any of the caller's own agents').
func (s *Service) Avatar(ctx context.Context, p kernel.Principal, idOrHandle string) (io.ReadSeekCloser, string, time.Time, error) {
	a, err := s.Public(ctx, idOrHandle)
	if errors.Is(err, kernel.ErrNotFound) && !p.Anonymous() {
		a, err = s.owned(ctx, p, idOrHandle)
	}
	if err != nil {
		return nil, "", time.Time{}, err
	}
	if a.AvatarKey == "" {
		return nil, "", time.Time{}, kernel.NotFound("avatar")
	}
	f, err := s.d.Blobs.Open(ctx, a.AvatarKey)
	return f, a.AvatarType, a.UpdatedAt, err
}

func (s *Service) hmac(key string) string { return s.mac.Hex(key) }

// sameSettings reports whether two normalized settings would be stored as
// the same version. It compares their JSON (what a version stores), so the
// bands are compared by value: formatting the struct with %+v printed the
// AutoBands pointer's address, and an update resending the same bands made
// a new version.
func sameSettings(a, b domain.Settings) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// PackageRendered records that a new skill package version exists.
func (s *Service) PackageRendered(ctx context.Context, id string, version int) error {
	return s.d.Agents.SetPackageVersion(ctx, id, version)
}

// RecordCompletion counts a completed order in the agent's figures (and,
// when it was delivered by its deadline, an on-time one).
func (s *Service) RecordCompletion(ctx context.Context, agentID string, onTime bool) error {
	f := domain.Figures{CompletedOrders: 1}
	if onTime {
		f.OnTimeOrders = 1
	}
	return s.d.Agents.AddFigures(ctx, agentID, f)
}

// RecordMissedDeadline counts a missed deadline against the agent (for moderation).
func (s *Service) RecordMissedDeadline(ctx context.Context, agentID string) error {
	return s.d.Agents.AddFigures(ctx, agentID, domain.Figures{MissedDeadlines: 1})
}

// RecordReview adds a review's stars to the agent's rating.
func (s *Service) RecordReview(ctx context.Context, agentID string, rating int) error {
	return s.d.Agents.AddFigures(ctx, agentID, domain.Figures{RatingSum: int64(rating), ReviewCount: 1})
}
