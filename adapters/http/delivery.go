package httpapi

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/heepr/heepr/api"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ordering"
	"github.com/heepr/heepr/modules/ordering/domain"
)

type requestKey struct{}

// request gives a strict handler the request (for Range headers).
func request(ctx context.Context) *http.Request {
	r, _ := ctx.Value(requestKey{}).(*http.Request)
	return r
}

func toAPIDelivery(p kernel.Principal, o domain.Order, d domain.Delivery) api.Delivery {
	out := api.Delivery{Id: d.ID, OrderId: d.OrderID, Version: d.Version, Status: api.DeliveryStatus(d.Status), Message: d.Message,
		Files: make([]api.DeliveryFile, len(d.Files)), CreatedAt: d.CreatedAt}
	for i, f := range d.Files {
		out.Files[i] = api.DeliveryFile{Id: f.ID, Name: f.Name, Size: f.Size, Sha256: f.SHA256, ContentType: f.ContentType}
	}
	if !d.ReviewedAt.IsZero() {
		out.ReviewedAt = ptr(d.ReviewedAt)
	}
	if side, _ := ordering.OrderSide(p, o); d.RejectNote != "" && side != domain.AuthorCustomer {
		out.RejectNote = ptr(d.RejectNote)
	}
	return out
}

// toAPIOrderView is an order with the deliveries its reader may see.
func (s *Server) toAPIOrderView(p kernel.Principal, v ordering.OrderView) api.Order {
	out := s.toAPIOrder(p, v.Order)
	for _, d := range v.Deliveries {
		out.Deliveries = append(out.Deliveries, toAPIDelivery(p, v.Order, d))
	}
	return out
}

// DeliverOrder implements deliverOrder: the multipart body is streamed
// part by part (the validator does not read it; see x-heepr-stream-body),
// each file straight to private storage.
func (s *Server) DeliverOrder(ctx context.Context, req api.DeliverOrderRequestObject) (api.DeliverOrderResponseObject, error) {
	p := principalFrom(ctx)
	draft, err := s.ordering.BeginDelivery(ctx, p, req.OrderId)
	if err != nil {
		return nil, err
	}
	defer draft.Discard(ctx) // unless it was recorded
	var message *string
	for {
		part, err := req.Body.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, multipartError(err)
		}
		switch part.FormName() {
		case "message":
			b, err := io.ReadAll(io.LimitReader(part, 4*domain.MaxMessageBody+1))
			if err != nil {
				return nil, multipartError(err)
			}
			if len(b) > 4*domain.MaxMessageBody {
				return nil, kernel.Invalid(kernel.FieldError{Field: "message", Detail: "must be at most 20000 characters"})
			}
			m := string(b)
			message = &m
		case "files":
			if err := draft.AddFile(ctx, part.FileName(), part); err != nil {
				return nil, multipartError(err)
			}
		default:
			return nil, kernel.Invalid(kernel.FieldError{Field: part.FormName(), Detail: "is not a part of a delivery (message, files)"})
		}
		_ = part.Close()
	}
	if message == nil {
		return nil, kernel.Invalid(kernel.FieldError{Field: "message", Detail: "is required"})
	}
	d, err := draft.Finish(ctx, *message)
	if err != nil {
		return nil, err
	}
	return api.DeliverOrder201JSONResponse(toAPIDelivery(p, draft.Order(), d)), nil
}

// multipartError keeps the body limit's 413 and kernel errors, and names
// anything else a malformed body.
func multipartError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	if _, ok := kernel.As(err); ok {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return kernel.Invalid(kernel.FieldError{Field: "body", Detail: "is not a readable multipart/form-data body"})
}

// ReleaseDelivery implements releaseDelivery.
func (s *Server) ReleaseDelivery(ctx context.Context, req api.ReleaseDeliveryRequestObject) (api.ReleaseDeliveryResponseObject, error) {
	p := principalFrom(ctx)
	v, err := s.ordering.ReleaseDelivery(ctx, p, req.DeliveryId)
	if err != nil {
		return nil, err
	}
	return api.ReleaseDelivery200JSONResponse(s.toAPIOrderView(p, v)), nil
}

// RejectDelivery implements rejectDelivery.
func (s *Server) RejectDelivery(ctx context.Context, req api.RejectDeliveryRequestObject) (api.RejectDeliveryResponseObject, error) {
	p := principalFrom(ctx)
	v, err := s.ordering.RejectDelivery(ctx, p, req.DeliveryId, req.Body.Note)
	if err != nil {
		return nil, err
	}
	return api.RejectDelivery200JSONResponse(s.toAPIOrderView(p, v)), nil
}

// AcceptDelivery implements acceptDelivery.
func (s *Server) AcceptDelivery(ctx context.Context, req api.AcceptDeliveryRequestObject) (api.AcceptDeliveryResponseObject, error) {
	p := principalFrom(ctx)
	v, err := s.ordering.AcceptDelivery(ctx, p, req.OrderId)
	if err != nil {
		return nil, err
	}
	return api.AcceptDelivery200JSONResponse(s.toAPIOrderView(p, v)), nil
}

// RequestRevision implements requestRevision.
func (s *Server) RequestRevision(ctx context.Context, req api.RequestRevisionRequestObject) (api.RequestRevisionResponseObject, error) {
	p := principalFrom(ctx)
	v, err := s.ordering.RequestRevision(ctx, p, req.OrderId, req.Body.Notes, req.Body.UnmetCriteria)
	if err != nil {
		return nil, err
	}
	return api.RequestRevision200JSONResponse(s.toAPIOrderView(p, v)), nil
}

// CancelOrder implements cancelOrder.
func (s *Server) CancelOrder(ctx context.Context, req api.CancelOrderRequestObject) (api.CancelOrderResponseObject, error) {
	p := principalFrom(ctx)
	v, err := s.ordering.CancelOrder(ctx, p, req.OrderId)
	if err != nil {
		return nil, err
	}
	return api.CancelOrder200JSONResponse(s.toAPIOrderView(p, v)), nil
}

// fileResponse serves a delivered file with range support, always as an
// attachment the browser must not sniff.
type fileResponse struct {
	r   io.ReadSeekCloser
	f   domain.File
	req *http.Request
}

func (fr fileResponse) VisitDownloadFileResponse(w http.ResponseWriter) error {
	defer fr.r.Close()
	h := w.Header()
	h.Set("Content-Type", fr.f.ContentType)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": fr.f.Name}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox; frame-ancestors 'none'")
	h.Set("ETag", `"`+fr.f.SHA256+`"`)
	http.ServeContent(&contentErrors{ResponseWriter: w, r: fr.req}, fr.req, "", time.Time{}, fr.r)
	return nil
}

// contentErrors answers the errors of http.ServeContent (416 for a Range
// outside the file, 412 for a failed If-Match) as problems, like every
// other error, instead of its plain text.
type contentErrors struct {
	http.ResponseWriter
	r      *http.Request
	failed bool
}

func (w *contentErrors) WriteHeader(code int) {
	if code < 400 {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.failed = true
	w.Header().Del("Content-Disposition")
	p := problem{Status: code, Code: "precondition-failed", Detail: "the file does not match If-Match or If-Unmodified-Since"}
	if code == http.StatusRequestedRangeNotSatisfiable {
		p = problem{Status: code, Code: "range-not-satisfiable",
			Detail: "the Range lies outside the file: Content-Range gives its size (" + w.Header().Get("Content-Range") + ")"}
	}
	writeProblem(w.ResponseWriter, w.r, p)
}

func (w *contentErrors) Write(b []byte) (int, error) {
	if w.failed { // ServeContent's own text after the problem
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// DownloadFile implements downloadFile: as the signed-in party, or by a signed link.
func (s *Server) DownloadFile(ctx context.Context, req api.DownloadFileRequestObject) (api.DownloadFileResponseObject, error) {
	p := principalFrom(ctx)
	var (
		r   io.ReadSeekCloser
		f   domain.File
		err error
	)
	if req.Params.Sig != nil || req.Params.Expires != nil || req.Params.User != nil {
		r, f, err = s.ordering.OpenFileByLink(ctx, p, req.FileId, deref(req.Params.Expires), deref(req.Params.User), deref(req.Params.Sig))
	} else {
		if p.Anonymous() {
			return nil, kernel.Unauthenticated("unauthenticated", "sign in, send a bearer token, or use a link from createFileLink")
		}
		r, f, err = s.ordering.OpenFile(ctx, p, req.FileId)
	}
	if err != nil {
		return nil, err
	}
	return fileResponse{r: r, f: f, req: request(ctx)}, nil
}

// CreateFileLink implements createFileLink.
func (s *Server) CreateFileLink(ctx context.Context, req api.CreateFileLinkRequestObject) (api.CreateFileLinkResponseObject, error) {
	l, err := s.ordering.CreateFileLink(ctx, principalFrom(ctx), req.FileId)
	if err != nil {
		return nil, err
	}
	return api.CreateFileLink201JSONResponse{Url: l.URL, ExpiresAt: l.ExpiresAt}, nil
}

func toAPIReview(r domain.Review) api.Review {
	out := api.Review{Id: r.ID, OrderId: r.OrderID, AgentId: r.AgentID, CustomerName: r.CustomerName, Rating: r.Rating,
		Text: r.Text, CreatedAt: r.CreatedAt}
	if r.Reply != "" {
		out.Reply, out.RepliedAt = ptr(r.Reply), ptr(r.RepliedAt)
	}
	return out
}

// CreateReview implements createReview.
func (s *Server) CreateReview(ctx context.Context, req api.CreateReviewRequestObject) (api.CreateReviewResponseObject, error) {
	r, reward, err := s.ordering.CreateReview(ctx, principalFrom(ctx), req.OrderId, req.Body.Rating, req.Body.Text)
	if err != nil {
		return nil, err
	}
	out := toAPIReview(r)
	out.Reward = ptr(int64(reward))
	return api.CreateReview201JSONResponse(out), nil
}

// ReplyToReview implements replyToReview.
func (s *Server) ReplyToReview(ctx context.Context, req api.ReplyToReviewRequestObject) (api.ReplyToReviewResponseObject, error) {
	r, err := s.ordering.ReplyToReview(ctx, principalFrom(ctx), req.ReviewId, req.Body.Text)
	if err != nil {
		return nil, err
	}
	return api.ReplyToReview200JSONResponse(toAPIReview(r)), nil
}

// ListAgentReviews implements listAgentReviews.
func (s *Server) ListAgentReviews(ctx context.Context, req api.ListAgentReviewsRequestObject) (api.ListAgentReviewsResponseObject, error) {
	rows, next, err := s.ordering.AgentReviews(ctx, req.AgentId, deref(req.Params.Cursor), pageSize(req.Params.Limit))
	if err != nil {
		return nil, err
	}
	out := api.ListAgentReviews200JSONResponse{Items: make([]api.Review, len(rows)), NextCursor: nextCursor(next)}
	for i, r := range rows {
		out.Items[i] = toAPIReview(r)
	}
	return out, nil
}

// MarkNotificationsRead implements markNotificationsRead.
func (s *Server) MarkNotificationsRead(ctx context.Context, req api.MarkNotificationsReadRequestObject) (api.MarkNotificationsReadResponseObject, error) {
	if err := s.notify.MarkRead(ctx, principalFrom(ctx).UserID, req.Body.UpTo); err != nil {
		return nil, err
	}
	return api.MarkNotificationsRead204Response{}, nil
}
