package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/webhooks"
	"github.com/heepr/heepr/modules/webhooks/domain"
)

// Webhooks implements the webhooks module's Store.
type Webhooks struct{ db *DB }

// NewWebhooks returns the webhooks store.
func NewWebhooks(db *DB) *Webhooks { return &Webhooks{db: db} }

var _ webhooks.Store = (*Webhooks)(nil)

type webhookEndpointRow struct {
	bun.BaseModel `bun:"table:webhook_endpoints,alias:we"`

	AgentID             string     `bun:"agent_id,pk"`
	URL                 string     `bun:"url"`
	Secret              string     `bun:"secret"`
	PreviousSecret      *string    `bun:"previous_secret"`
	PreviousUntil       *time.Time `bun:"previous_until"`
	DisabledAt          *time.Time `bun:"disabled_at"`
	DisabledReason      *string    `bun:"disabled_reason"`
	FailingSince        *time.Time `bun:"failing_since"`
	ConsecutiveFailures int        `bun:"consecutive_failures"`
	CreatedAt           time.Time  `bun:"created_at"`
	UpdatedAt           time.Time  `bun:"updated_at"`
}

func toWebhookEndpointRow(e domain.Endpoint) *webhookEndpointRow {
	r := &webhookEndpointRow{AgentID: e.AgentID, URL: e.URL, Secret: e.Secret, DisabledAt: e.DisabledAt,
		FailingSince: e.FailingSince, ConsecutiveFailures: e.ConsecutiveFailures, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
	if e.PreviousSecret != "" {
		r.PreviousSecret, r.PreviousUntil = &e.PreviousSecret, &e.PreviousUntil
	}
	if e.DisabledReason != "" {
		r.DisabledReason = &e.DisabledReason
	}
	return r
}

func (r *webhookEndpointRow) toDomain() domain.Endpoint {
	e := domain.Endpoint{AgentID: r.AgentID, URL: r.URL, Secret: r.Secret, DisabledAt: utcPtr(r.DisabledAt),
		FailingSince: utcPtr(r.FailingSince), ConsecutiveFailures: r.ConsecutiveFailures,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	if r.PreviousSecret != nil && r.PreviousUntil != nil {
		e.PreviousSecret, e.PreviousUntil = *r.PreviousSecret, r.PreviousUntil.UTC()
	}
	if r.DisabledReason != nil {
		e.DisabledReason = *r.DisabledReason
	}
	return e
}

// Endpoint reads an agent's endpoint (its row locked with lock, on Postgres).
func (s *Webhooks) Endpoint(ctx context.Context, agentID string, lock bool) (domain.Endpoint, error) {
	row := new(webhookEndpointRow)
	q := s.db.Conn(ctx).NewSelect().Model(row).Where("agent_id = ?", agentID)
	if lock && s.db.Dialect == Postgres {
		q = q.For("UPDATE")
	}
	err := q.Scan(ctx)
	if IsNoRows(err) {
		return domain.Endpoint{}, kernel.ErrNotFound
	}
	if err != nil {
		return domain.Endpoint{}, fmt.Errorf("read webhook endpoint: %w", err)
	}
	return row.toDomain(), nil
}

// SaveEndpoint inserts or replaces the agent's endpoint.
func (s *Webhooks) SaveEndpoint(ctx context.Context, e domain.Endpoint) error {
	_, err := s.db.Conn(ctx).NewInsert().Model(toWebhookEndpointRow(e)).
		On("CONFLICT (agent_id) DO UPDATE").
		Set("url = EXCLUDED.url, secret = EXCLUDED.secret, previous_secret = EXCLUDED.previous_secret").
		Set("previous_until = EXCLUDED.previous_until, disabled_at = EXCLUDED.disabled_at").
		Set("disabled_reason = EXCLUDED.disabled_reason, failing_since = EXCLUDED.failing_since").
		Set("consecutive_failures = EXCLUDED.consecutive_failures, updated_at = EXCLUDED.updated_at").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("save webhook endpoint: %w", err)
	}
	return nil
}

// DeleteEndpoint deletes the agent's endpoint and its delivery log.
func (s *Webhooks) DeleteEndpoint(ctx context.Context, agentID string) error {
	conn := s.db.Conn(ctx)
	if _, err := conn.NewDelete().Model((*webhookDeliveryRow)(nil)).Where("agent_id = ?", agentID).Exec(ctx); err != nil {
		return fmt.Errorf("delete webhook deliveries: %w", err)
	}
	if _, err := conn.NewDelete().Model((*webhookEndpointRow)(nil)).Where("agent_id = ?", agentID).Exec(ctx); err != nil {
		return fmt.Errorf("delete webhook endpoint: %w", err)
	}
	return nil
}

type webhookDeliveryRow struct {
	bun.BaseModel `bun:"table:webhook_deliveries,alias:wd"`

	ID            string     `bun:"id,pk"`
	AgentID       string     `bun:"agent_id"`
	EventSeq      int64      `bun:"event_seq"`
	EventType     string     `bun:"event_type"`
	Payload       string     `bun:"payload"`
	State         string     `bun:"state"`
	Attempts      int        `bun:"attempts"`
	LastStatus    *int       `bun:"last_status"`
	LastError     *string    `bun:"last_error"`
	LastAttemptAt *time.Time `bun:"last_attempt_at"`
	NextAttemptUS *int64     `bun:"next_attempt_us"`
	QueuedUntilUS int64      `bun:"queued_until_us"`
	CreatedAt     time.Time  `bun:"created_at"`
	DeliveredAt   *time.Time `bun:"delivered_at"`
}

func (r *webhookDeliveryRow) toDomain() domain.Delivery {
	d := domain.Delivery{ID: r.ID, AgentID: r.AgentID, EventSeq: r.EventSeq, EventType: r.EventType, Payload: []byte(r.Payload),
		State: domain.DeliveryState(r.State), Attempts: r.Attempts, LastAttemptAt: utcPtr(r.LastAttemptAt),
		CreatedAt: r.CreatedAt.UTC(), DeliveredAt: utcPtr(r.DeliveredAt)}
	if r.LastStatus != nil {
		d.LastStatus = *r.LastStatus
	}
	if r.LastError != nil {
		d.LastError = *r.LastError
	}
	if r.NextAttemptUS != nil {
		t := time.UnixMicro(*r.NextAttemptUS).UTC()
		d.NextAttemptAt = &t
	}
	return d
}

// outcomeColumns are what an attempt changes.
func outcomeColumns(d domain.Delivery) (status *int, errText *string, next *int64) {
	if d.LastStatus != 0 {
		status = &d.LastStatus
	}
	if d.LastError != "" {
		errText = &d.LastError
	}
	if d.NextAttemptAt != nil {
		us := d.NextAttemptAt.UnixMicro()
		next = &us
	}
	return status, errText, next
}

// InsertDelivery adds a pending delivery.
func (s *Webhooks) InsertDelivery(ctx context.Context, d domain.Delivery, queuedUntil time.Time) error {
	_, _, next := outcomeColumns(d)
	row := &webhookDeliveryRow{ID: d.ID, AgentID: d.AgentID, EventSeq: d.EventSeq, EventType: d.EventType, Payload: string(d.Payload),
		State: string(d.State), Attempts: d.Attempts, NextAttemptUS: next, QueuedUntilUS: queuedUntil.UnixMicro(), CreatedAt: d.CreatedAt}
	if _, err := s.db.Conn(ctx).NewInsert().Model(row).Exec(ctx); err != nil {
		return fmt.Errorf("insert webhook delivery: %w", err)
	}
	return nil
}

// ClaimDelivery counts an attempt of a due pending delivery and moves its
// next attempt to leaseUntil, in one conditional update.
func (s *Webhooks) ClaimDelivery(ctx context.Context, id string, now, leaseUntil time.Time) (domain.Delivery, bool, error) {
	var rows []webhookDeliveryRow
	err := s.db.Conn(ctx).NewRaw(`UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_us = ?, queued_until_us = 0
		WHERE id = ? AND state = 'pending' AND next_attempt_us <= ? RETURNING *`, leaseUntil.UnixMicro(), id, now.UnixMicro()).Scan(ctx, &rows)
	if err != nil {
		return domain.Delivery{}, false, fmt.Errorf("claim webhook delivery: %w", err)
	}
	if len(rows) == 0 {
		return domain.Delivery{}, false, nil
	}
	return rows[0].toDomain(), true, nil
}

// SaveAttempt writes an attempt's outcome if the attempt still holds its lease.
func (s *Webhooks) SaveAttempt(ctx context.Context, d domain.Delivery, leaseUntil time.Time) (bool, error) {
	status, errText, next := outcomeColumns(d)
	res, err := s.db.Conn(ctx).NewUpdate().Model((*webhookDeliveryRow)(nil)).
		Set("state = ?", string(d.State)).Set("last_status = ?", status).Set("last_error = ?", errText).
		Set("last_attempt_at = ?", d.LastAttemptAt).Set("next_attempt_us = ?", next).Set("delivered_at = ?", d.DeliveredAt).
		Where("id = ?", d.ID).Where("state = 'pending'").Where("attempts = ?", d.Attempts).
		Where("next_attempt_us = ?", leaseUntil.UnixMicro()).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("save webhook attempt: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// skipLocked makes a multi-row update pass over rows another transaction
// holds (Postgres; SQLite transactions are serial): a delivery being
// claimed or recorded is settled by that attempt, and two such updates
// never wait on each other.
func (s *Webhooks) skipLocked() string {
	if s.db.Dialect == Postgres {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// FailPending marks the agent's pending deliveries failed (those an
// attempt holds fail when that attempt finds the endpoint disabled).
func (s *Webhooks) FailPending(ctx context.Context, agentID, reason string) (int, error) {
	res, err := s.db.Conn(ctx).NewRaw(`UPDATE webhook_deliveries SET state = 'failed', last_error = ?, next_attempt_us = NULL
		WHERE id IN (SELECT id FROM webhook_deliveries WHERE agent_id = ? AND state = 'pending'`+s.skipLocked()+`)`,
		reason, agentID).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("fail pending webhook deliveries: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// QueueDue marks due deliveries no job is queued for as queued and returns them.
func (s *Webhooks) QueueDue(ctx context.Context, now, queuedUntil time.Time, limit int) ([]string, error) {
	var ids []string
	if err := s.db.Conn(ctx).NewRaw(`UPDATE webhook_deliveries SET queued_until_us = ? WHERE id IN
		(SELECT id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_us <= ? AND queued_until_us <= ?
		ORDER BY next_attempt_us, id LIMIT ?`+s.skipLocked()+`) RETURNING id`,
		queuedUntil.UnixMicro(), now.UnixMicro(), now.UnixMicro(), limit).Scan(ctx, &ids); err != nil {
		return nil, fmt.Errorf("queue due webhook deliveries: %w", err)
	}
	return ids, nil
}

// Deliveries lists the agent's deliveries newest first.
func (s *Webhooks) Deliveries(ctx context.Context, agentID, before string, limit int) ([]domain.Delivery, error) {
	var rows []webhookDeliveryRow
	q := s.db.Conn(ctx).NewSelect().Model(&rows).Where("agent_id = ?", agentID)
	if before != "" {
		q = q.Where("id < ?", before)
	}
	if err := q.OrderExpr("id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list webhook deliveries: %w", err)
	}
	out := make([]domain.Delivery, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// Purge deletes up to limit finished deliveries created before the time.
func (s *Webhooks) Purge(ctx context.Context, before time.Time, limit int) (int, error) {
	res, err := s.db.Conn(ctx).NewRaw(`DELETE FROM webhook_deliveries WHERE id IN
		(SELECT id FROM webhook_deliveries WHERE state <> 'pending' AND created_at < ? ORDER BY created_at LIMIT ?)`, before, limit).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("purge webhook deliveries: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
