package ordering

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ledger"
	"github.com/heepr/heepr/modules/notification"
	"github.com/heepr/heepr/modules/ordering/domain"
)

// OrderView is an order with the deliveries its reader may see.
type OrderView struct {
	domain.Order
	Deliveries []domain.Delivery
}

// view adds the deliveries p may see: the customer only released ones;
// the owner, the agent and support all, with the owner's notes.
func (s *Service) view(ctx context.Context, p kernel.Principal, o domain.Order) (OrderView, error) {
	ds, err := s.d.Store.Deliveries(ctx, o.ID)
	if err != nil {
		return OrderView{}, err
	}
	if side, _ := OrderSide(p, o); side == domain.AuthorCustomer {
		ds = slices.DeleteFunc(ds, func(d domain.Delivery) bool { return d.Status != domain.DeliveryReleased })
	}
	return OrderView{Order: o, Deliveries: ds}, nil
}

// ReviewWindowEnds is when a delivered order completes by itself.
func (s *Service) ReviewWindowEnds(o domain.Order) time.Time {
	return o.ReviewWindowEnds(s.d.Config.ReviewWindow)
}

// GetOrderView returns an order p takes part in with its deliveries; support
// (a person with the role, never an agent key) reads any order this way, with
// every delivery. Reading is all support gets here: every change goes through
// order, which knows the order's parties only.
func (s *Service) GetOrderView(ctx context.Context, p kernel.Principal, id string) (OrderView, error) {
	o, _, err := s.order(ctx, p, id, false)
	if errors.Is(err, errOrderNotFound) && supportReader(p) {
		o, err = s.d.Store.Order(ctx, id, false)
		if errors.Is(err, kernel.ErrNotFound) {
			err = errOrderNotFound
		}
	}
	if err != nil {
		return OrderView{}, err
	}
	return s.view(ctx, p, o)
}

// supportReader reports whether p reads orders as support.
func supportReader(p kernel.Principal) bool {
	return p.Method != kernel.AuthAgent && p.UserID != "" && p.Has(kernel.RoleSupport)
}

var (
	errFileTooLarge = kernel.New(kernel.ErrTooLarge, "file-too-large", "a delivered file is larger than allowed")
	errTooManyFiles = kernel.Invalid(kernel.FieldError{Field: "files", Detail: fmt.Sprintf("at most %d files per delivery", domain.MaxDeliveryFiles)})
)

// Draft is a delivery being uploaded: its files are stored as they stream
// in; Finish records it, Discard removes what was stored.
type Draft struct {
	s     *Service
	order domain.Order
	d     domain.Delivery
	done  bool
}

// BeginDelivery starts a delivery by the agent on its order in progress.
func (s *Service) BeginDelivery(ctx context.Context, p kernel.Principal, orderID string) (*Draft, error) {
	o, side, err := s.order(ctx, p, orderID, false)
	if err != nil {
		return nil, err
	}
	if side != domain.AuthorAgent {
		return nil, kernel.Forbidden("agent-only", "only the agent delivers")
	}
	if o.Status != domain.InProgress {
		return nil, kernel.Conflict("order-not-in-progress", "the order is %s; deliveries are made while it is in progress", o.Status)
	}
	return &Draft{s: s, order: o, d: domain.Delivery{ID: kernel.NewID(), OrderID: o.ID, Status: domain.DeliveryInReview}}, nil
}

// limited fails with errFileTooLarge past max bytes.
type limited struct {
	r    io.Reader
	left int64
}

func (l *limited) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, errFileTooLarge
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, errFileTooLarge
	}
	return n, err
}

// AddFile streams one file to private storage: at most the upload limit,
// its type sniffed from its first bytes against the allowlist, hashed.
func (d *Draft) AddFile(ctx context.Context, name string, r io.Reader) error {
	if len(d.d.Files) >= domain.MaxDeliveryFiles {
		return errTooManyFiles
	}
	max := d.s.d.Config.MaxUploadBytes
	br := bufio.NewReaderSize(&limited{r: r, left: max}, 512)
	head, err := br.Peek(512)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return err
	}
	ct := http.DetectContentType(head)
	if !domain.FileTypeAllowed(ct) {
		return kernel.New(kernel.ErrInvalid, "unsupported-file-type",
			"%q looks like %s, which is not accepted; deliver text, images, audio, video, PDF, JSON, or put it in a zip", name, ct)
	}
	f := domain.File{ID: kernel.NewID(), DeliveryID: d.d.ID, OrderID: d.order.ID, Name: domain.CleanFileName(name),
		ContentType: ct, CreatedAt: d.s.d.Clock.Now()}
	f.BlobKey = fmt.Sprintf("deliveries/%s/%s/%s", d.order.ID, d.d.ID, f.ID)
	b, err := d.s.d.Blobs.Put(ctx, f.BlobKey, br, max)
	if err != nil {
		if errors.Is(err, kernel.ErrStorageFull) {
			return err // its kind is ErrTooLarge too, but the file is not at fault
		}
		if errors.Is(err, errFileTooLarge) || errors.Is(err, kernel.ErrTooLarge) {
			return errFileTooLarge
		}
		if e, ok := kernel.As(err); ok && e.Code == "file-too-large" {
			return errFileTooLarge
		}
		return fmt.Errorf("store %s: %w", f.Name, err)
	}
	f.Size, f.SHA256 = b.Size, b.SHA256
	d.d.Files = append(d.d.Files, f)
	return nil
}

// Discard removes every file stored for a delivery that was not recorded.
func (d *Draft) Discard(ctx context.Context) {
	if d.done {
		return
	}
	for _, f := range d.d.Files {
		_ = d.s.d.Blobs.Delete(context.WithoutCancel(ctx), f.BlobKey)
	}
	d.d.Files = nil
}

// Finish records the delivery with its message: it gets the next version,
// the order goes to the owner's review, the owner is notified.
func (d *Draft) Finish(ctx context.Context, message string) (domain.Delivery, error) {
	s := d.s
	msg, err := domain.ValidateMessage(domain.AuthorAgent, message)
	if err != nil {
		return domain.Delivery{}, renameField(err, "body", "message")
	}
	d.d.Message = msg
	err = s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		o, err := s.d.Store.Order(ctx, d.order.ID, true)
		if err != nil {
			return err
		}
		now := s.d.Clock.Now()
		if err := o.Deliver(now); err != nil {
			return err
		}
		prior, err := s.d.Store.Deliveries(ctx, o.ID)
		if err != nil {
			return err
		}
		d.d.Version, d.d.CreatedAt = len(prior)+1, now
		if err := s.d.Store.InsertDelivery(ctx, d.d); err != nil {
			return err
		}
		if err := s.d.Store.SaveOrder(ctx, o, domain.InProgress); err != nil {
			return err
		}
		return s.d.Notifier.Notify(ctx, notification.Notice{User: o.OwnerID, Kind: "ordering.delivery_awaiting_review",
			Subject: fmt.Sprintf("@%s delivered %q: review it", o.AgentHandle, o.Title),
			Body: fmt.Sprintf("Delivery %d of %q is waiting for your review. Release it to the customer or send it back with a note; the customer sees nothing until you release it.",
				d.d.Version, o.Title),
			Link: "/orders/" + o.ID})
	})
	if err != nil {
		return domain.Delivery{}, err
	}
	d.done = true
	return d.d, nil
}

// Order is the order the draft delivers (as read when it began: who takes
// part in it does not change).
func (d *Draft) Order() domain.Order { return d.order }

// delivery loads a delivery with its order, locked, for its owner.
func (s *Service) reviewDelivery(ctx context.Context, p kernel.Principal, id string,
	fn func(ctx context.Context, o *domain.Order, d *domain.Delivery, now time.Time) error) (OrderView, error) {
	var out OrderView
	err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		d, err := s.d.Store.Delivery(ctx, id)
		if errors.Is(err, kernel.ErrNotFound) {
			return kernel.NotFound("delivery")
		}
		if err != nil {
			return err
		}
		o, side, err := s.order(ctx, p, d.OrderID, true)
		if errors.Is(err, kernel.ErrNotFound) {
			return kernel.NotFound("delivery")
		}
		if err != nil {
			return err
		}
		if side != domain.AuthorOwner {
			return kernel.Forbidden("owner-only", "only the agent's owner reviews its deliveries")
		}
		if d.Status != domain.DeliveryInReview {
			return kernel.Conflict("delivery-reviewed", "this delivery was already %s", d.Status)
		}
		if err := s.d.Events.LockFeed(ctx, o.AgentID); err != nil {
			return err
		}
		now := s.d.Clock.Now()
		if err := fn(ctx, &o, &d, now); err != nil {
			return err
		}
		d.ReviewedAt = now
		if err := s.d.Store.SaveDelivery(ctx, d); err != nil {
			return err
		}
		if err := s.d.Store.SaveOrder(ctx, o, domain.InReview); err != nil {
			return err
		}
		out, err = s.view(ctx, p, o)
		return err
	})
	return out, err
}

// ReleaseDelivery shows the delivery to the customer (the owner): the
// order is delivered and the review window starts.
func (s *Service) ReleaseDelivery(ctx context.Context, p kernel.Principal, id string) (OrderView, error) {
	return s.reviewDelivery(ctx, p, id, func(ctx context.Context, o *domain.Order, d *domain.Delivery, now time.Time) error {
		if err := o.Release(now); err != nil {
			return err
		}
		d.Status = domain.DeliveryReleased
		if _, err := s.d.Events.Append(ctx, o.AgentID, domain.EventDeliveryReleased,
			map[string]any{"order_id": o.ID, "delivery_id": d.ID, "version": d.Version}, now); err != nil {
			return err
		}
		return s.d.Notifier.Notify(ctx, notification.Notice{User: o.CustomerID, Kind: "ordering.delivery_released",
			Subject: fmt.Sprintf("Your delivery of %q is ready", o.Title),
			Body: fmt.Sprintf("@%s delivered your order. Accept it, or ask for a revision (%d left), by %s; after that it completes by itself.",
				o.AgentHandle, o.RevisionsLeft, o.ReviewWindowEnds(s.d.Config.ReviewWindow).UTC().Format("2006-01-02 15:04 MST")),
			Link: "/orders/" + o.ID})
	})
}

// RejectDelivery sends a delivery back to the agent with the owner's note.
func (s *Service) RejectDelivery(ctx context.Context, p kernel.Principal, id, note string) (OrderView, error) {
	note = strings.TrimSpace(note)
	if note == "" || len([]rune(note)) > domain.MaxNoteLen {
		return OrderView{}, kernel.Invalid(kernel.FieldError{Field: "note", Detail: fmt.Sprintf("say what to fix, in 1 to %d characters", domain.MaxNoteLen)})
	}
	return s.reviewDelivery(ctx, p, id, func(ctx context.Context, o *domain.Order, d *domain.Delivery, now time.Time) error {
		if err := o.Reject(now); err != nil {
			return err
		}
		d.Status, d.RejectNote = domain.DeliveryRejected, note
		_, err := s.d.Events.Append(ctx, o.AgentID, domain.EventDeliveryRejected,
			map[string]any{"order_id": o.ID, "delivery_id": d.ID, "version": d.Version, "note": note,
				"deadline": o.Deadline.UTC().Format(time.RFC3339)}, now)
		return err
	})
}

// complete finishes a delivered order (o is locked and already moved): the
// payout job is enqueued in the same transaction, the agent told, its
// figures counted.
func (s *Service) complete(ctx context.Context, o domain.Order) error {
	if err := s.d.Events.LockFeed(ctx, o.AgentID); err != nil {
		return err
	}
	if err := s.d.Store.SaveOrder(ctx, o, domain.Delivered); err != nil {
		return err
	}
	if err := s.d.Jobs.Enqueue(ctx, PayoutArgs{OrderID: o.ID}); err != nil {
		return err
	}
	if err := s.d.Agents.RecordCompletion(ctx, o.AgentID, o.OnTime); err != nil {
		return err
	}
	_, err := s.d.Events.Append(ctx, o.AgentID, domain.EventOrderCompleted,
		map[string]any{"order_id": o.ID, "price": int64(o.Price), "on_time": o.OnTime}, o.UpdatedAt)
	return err
}

func customerSide(side domain.AuthorKind) error {
	if side != domain.AuthorCustomer {
		return kernel.Forbidden("customer-only", "only the order's customer does this")
	}
	return nil
}

// AcceptDelivery completes a delivered order (the customer).
func (s *Service) AcceptDelivery(ctx context.Context, p kernel.Principal, id string) (OrderView, error) {
	o, err := s.change(ctx, p, id, customerSide, func(ctx context.Context, o *domain.Order) error {
		if err := o.Complete(s.d.Clock.Now(), s.d.Config.ReviewWindow, false); err != nil {
			return err
		}
		return s.complete(ctx, *o)
	})
	if err != nil {
		return OrderView{}, err
	}
	return s.view(ctx, p, o)
}

// RequestRevision sends delivered work back to the agent (the customer).
func (s *Service) RequestRevision(ctx context.Context, p kernel.Principal, id, notes string, unmet []string) (OrderView, error) {
	o, err := s.change(ctx, p, id, customerSide, func(ctx context.Context, o *domain.Order) error {
		if err := s.d.Events.LockFeed(ctx, o.AgentID); err != nil {
			return err
		}
		now := s.d.Clock.Now()
		if err := o.RequestRevision(now, notes, unmet); err != nil {
			return err
		}
		if err := s.d.Store.SaveOrder(ctx, *o, domain.Delivered); err != nil {
			return err
		}
		last := o.Revisions[len(o.Revisions)-1]
		if _, err := s.d.Events.Append(ctx, o.AgentID, domain.EventRevisionRequested, map[string]any{
			"order_id": o.ID, "revision": last.Number, "notes": last.Notes, "unmet_criteria": last.UnmetCriteria,
			"revisions_left": o.RevisionsLeft, "deadline": o.Deadline.UTC().Format(time.RFC3339), "history": o.Revisions,
		}, now); err != nil {
			return err
		}
		return s.d.Notifier.Notify(ctx, notification.Notice{User: o.OwnerID, Kind: "ordering.revision_requested",
			Subject: fmt.Sprintf("A revision of %q was requested", o.Title),
			Body:    fmt.Sprintf("The customer asked @%s for revision %d: %s", o.AgentHandle, last.Number, last.Notes),
			Link:    "/orders/" + o.ID})
	})
	if err != nil {
		return OrderView{}, err
	}
	return s.view(ctx, p, o)
}

// CancelOrder is the customer's cancellation with a full refund: before
// approval, or 24 hours past the deadline without a delivery.
func (s *Service) CancelOrder(ctx context.Context, p kernel.Principal, id string) (OrderView, error) {
	o, err := s.change(ctx, p, id, customerSide, func(ctx context.Context, o *domain.Order) error {
		from := o.Status
		if err := o.Cancel(s.d.Clock.Now()); err != nil {
			return err
		}
		why := "You withdrew it before it was approved."
		if o.CancelReason == domain.CancelLate {
			why = "It was more than 24 hours past its deadline without a delivery."
		}
		return s.cancelFrom(ctx, *o, from, why)
	})
	if err != nil {
		return OrderView{}, err
	}
	return s.view(ctx, p, o)
}

// Payout pays a completed order's escrow to its owner (the payout job).
// Run twice, it pays once. An order that is no longer completed when the
// job runs (flagged meanwhile: its payout is frozen) is not paid; whoever
// settles it decides where the escrow goes.
func (s *Service) Payout(ctx context.Context, orderID string) error {
	// The order's lock orders the payout against a flag: a flag that
	// commits first freezes it; one that comes after finds it paid (and a
	// refund then claws back).
	return s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		o, err := s.d.Store.Order(ctx, orderID, true)
		if err != nil {
			return err
		}
		if o.Status != domain.Completed {
			return nil
		}
		_, err = s.d.Ledger.Payout(ctx, o.ID, o.OwnerID)
		if errors.Is(err, ledger.ErrAlreadyApplied) {
			return nil // paid by an earlier run
		}
		return err
	})
}
