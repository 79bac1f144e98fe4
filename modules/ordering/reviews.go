package ordering

import (
	"context"
	"errors"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ordering/domain"
)

// CreateReview records the customer's review of a completed order, pays
// the review reward (once per order) and adds the stars to the agent's rating.
func (s *Service) CreateReview(ctx context.Context, p kernel.Principal, orderID string, rating int, text string) (domain.Review, kernel.Points, error) {
	text, err := domain.ValidateReview(rating, text)
	if err != nil {
		return domain.Review{}, 0, err
	}
	var (
		out    domain.Review
		reward kernel.Points
	)
	_, err = s.change(ctx, p, orderID, customerSide, func(ctx context.Context, o *domain.Order) error {
		if o.Status != domain.Completed {
			return kernel.Conflict("order-not-completed", "only a completed order can be reviewed; it is %s", o.Status)
		}
		if err := domain.CheckNotSelfDealing(p.UserID, o.OwnerID); err != nil {
			return err
		}
		c, err := s.d.Store.Conversation(ctx, o.ConversationID, false)
		if err != nil {
			return err
		}
		out = domain.Review{ID: kernel.NewID(), OrderID: o.ID, AgentID: o.AgentID, CustomerID: p.UserID,
			CustomerName: c.CustomerName, Rating: rating, Text: text, CreatedAt: s.d.Clock.Now()}
		if err := s.d.Store.InsertReview(ctx, out); err != nil {
			return err
		}
		if err := s.d.Agents.RecordReview(ctx, o.AgentID, rating); err != nil {
			return err
		}
		reward, err = s.d.Ledger.ReviewReward(ctx, o.ID, p.UserID)
		return err
	})
	return out, reward, err
}

// ReplyToReview records the owner's one answer to a review of their agent.
func (s *Service) ReplyToReview(ctx context.Context, p kernel.Principal, id, text string) (domain.Review, error) {
	var out domain.Review
	err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		r, err := s.d.Store.Review(ctx, id, true)
		if errors.Is(err, kernel.ErrNotFound) {
			return kernel.NotFound("review")
		}
		if err != nil {
			return err
		}
		o, err := s.d.Store.Order(ctx, r.OrderID, false)
		if err != nil {
			return err
		}
		if side, ok := OrderSide(p, o); !ok || side != domain.AuthorOwner {
			return kernel.NotFound("review")
		}
		if err := r.SetReply(s.d.Clock.Now(), text); err != nil {
			return err
		}
		out = r
		return s.d.Store.SaveReply(ctx, r)
	})
	return out, err
}

// AgentReviews pages through a listed agent's reviews, newest first.
func (s *Service) AgentReviews(ctx context.Context, agent, cursor string, limit int) ([]domain.Review, string, error) {
	a, err := s.d.Agents.Public(ctx, agent)
	if err != nil {
		return nil, "", err
	}
	before, err := kernel.IDCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	limit = kernel.Limit(limit, 20, 100)
	rows, err := s.d.Store.AgentReviews(ctx, a.ID, before, limit+1)
	if err != nil {
		return nil, "", err
	}
	rows, next := kernel.PageByID(rows, limit, func(r domain.Review) string { return r.ID })
	return rows, next, nil
}
