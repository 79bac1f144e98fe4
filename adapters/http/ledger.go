package httpapi

import (
	"context"
	"errors"
	"io"

	"github.com/heepr/heepr/api"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ledger"
)

// defaultPageSize is the page size a list answers when the caller names none.
const defaultPageSize = 20

func toAPIPosting(p ledger.PostingView) api.Posting {
	out := api.Posting{
		Id: p.ID, Kind: api.PostingKind(p.Kind), Amount: int64(p.Amount), BalanceAfter: int64(p.BalanceAfter),
		Memo: p.Memo, CreatedAt: p.CreatedAt,
	}
	if p.OrderID != "" {
		out.OrderId = ptr(p.OrderID)
	}
	return out
}

func postingFilter(kind *api.PostingKind, order *string) ledger.Filter {
	f := ledger.Filter{OrderID: deref(order)}
	if kind != nil {
		f.Kind = string(*kind)
	}
	return f
}

// GetWallet implements getWallet.
func (s *Server) GetWallet(ctx context.Context, _ api.GetWalletRequestObject) (api.GetWalletResponseObject, error) {
	w, err := s.ledger.Wallet(ctx, principalFrom(ctx).UserID)
	if err != nil {
		return nil, err
	}
	return api.GetWallet200JSONResponse{Balance: int64(w.Balance), Held: int64(w.Held)}, nil
}

// ListPostings implements listPostings.
func (s *Server) ListPostings(ctx context.Context, req api.ListPostingsRequestObject) (api.ListPostingsResponseObject, error) {
	p := req.Params
	limit := defaultPageSize // openapi.yaml's Limit: "Page size (default 20)"
	if p.Limit != nil {
		limit = *p.Limit
	}
	rows, next, err := s.ledger.Postings(ctx, principalFrom(ctx).UserID, postingFilter(p.Kind, p.OrderId), deref(p.Cursor), limit)
	if err != nil {
		return nil, err
	}
	out := api.ListPostings200JSONResponse{Items: make([]api.Posting, len(rows))}
	for i, r := range rows {
		out.Items[i] = toAPIPosting(r)
	}
	if next != "" {
		out.NextCursor = &next
	}
	return out, nil
}

// ExportPostings implements exportPostings, streaming the CSV as it is read.
func (s *Server) ExportPostings(ctx context.Context, req api.ExportPostingsRequestObject) (api.ExportPostingsResponseObject, error) {
	f := postingFilter(req.Params.Kind, req.Params.OrderId)
	user := principalFrom(ctx).UserID
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(s.ledger.ExportCSV(ctx, user, f, pw))
	}()
	return api.ExportPostings200TextcsvResponse{
		Body:    pr,
		Headers: api.ExportPostings200ResponseHeaders{ContentDisposition: ptr(`attachment; filename="heepr-postings.csv"`)},
	}, nil
}

// CreditPoints implements creditPoints (support). The idempotency key,
// scoped to the support user, is also the posting's exactly-once key.
func (s *Server) CreditPoints(ctx context.Context, req api.CreditPointsRequestObject) (api.CreditPointsResponseObject, error) {
	p := principalFrom(ctx)
	user := kernel.UserID(req.UserId)
	if _, err := s.identity.Me(ctx, kernel.Principal{UserID: user}); err != nil {
		return nil, err
	}
	posting, err := s.moderation.CreditPoints(ctx, p, user, kernel.Points(req.Body.Amount), req.Body.Memo,
		string(p.UserID)+":"+req.Params.IdempotencyKey)
	if errors.Is(err, ledger.ErrAlreadyApplied) {
		// Only once the key's stored answer has expired (24 h) does a
		// request get this far with a key that already credited.
		return nil, kernel.Conflict("already-applied", "you already credited points with this Idempotency-Key and its "+
			"answer is no longer kept (keys live 24 hours): see the user's postings; use a new key for a new credit")
	}
	if err != nil {
		return nil, err
	}
	return api.CreditPoints201JSONResponse(toAPIPosting(posting)), nil
}
