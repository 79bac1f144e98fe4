package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"mime/multipart"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/api/client"
	"github.com/heepr/heepr/modules/ordering"
)

// The second half of an order's life through HTTP (issue 6): deliveries,
// the owner's review, downloads, revisions, completion, payout, reviews.

// upload is one file of a delivery.
type upload struct {
	name string
	body []byte
}

// multipartBody builds a delivery's body: the message and the files.
func multipartBody(t *testing.T, message string, files ...upload) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if message != "" {
		require.NoError(t, w.WriteField("message", message))
	}
	for _, f := range files {
		part, err := w.CreateFormFile("files", f.name)
		require.NoError(t, err)
		_, err = part.Write(f.body)
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	return w.FormDataContentType(), &buf
}

// deliverResp posts a delivery as the agent.
func (e *env) deliverResp(t *testing.T, c *client.ClientWithResponses, order, message string, files ...upload) *client.DeliverOrderResponse {
	t.Helper()
	ct, body := multipartBody(t, message, files...)
	resp, err := c.DeliverOrderWithBodyWithResponse(context.Background(), order, ct, body)
	require.NoError(t, err)
	return resp
}

func (e *env) deliver(t *testing.T, c *client.ClientWithResponses, order, message string, files ...upload) client.Delivery {
	t.Helper()
	resp := e.deliverResp(t, c, order, message, files...)
	require.Equal(t, http.StatusCreated, resp.StatusCode(), "deliverOrder: %s", resp.Body)
	return *resp.JSON201
}

func (e *env) release(t *testing.T, c *client.ClientWithResponses, delivery string) client.Order {
	t.Helper()
	resp, err := c.ReleaseDeliveryWithResponse(context.Background(), delivery)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "releaseDelivery: %s", resp.Body)
	return *resp.JSON200
}

func (e *env) reject(t *testing.T, c *client.ClientWithResponses, delivery, note string) client.Order {
	t.Helper()
	resp, err := c.RejectDeliveryWithResponse(context.Background(), delivery, client.RejectDeliveryRequest{Note: note})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "rejectDelivery: %s", resp.Body)
	return *resp.JSON200
}

// startedOrder is an auto-mode order in progress, with its shop.
func (e *env) startedOrder(t *testing.T) (shop, client.Order) {
	t.Helper()
	s := e.autoShop(t)
	conv := e.contact(t, s.custC, s.agent.Id, "Please fix the lint findings.")
	o := e.accept(t, s.custC, e.sendQuote(t, s.agentC, conv.Id, e.quoteReq()).Id)
	require.Equal(t, client.OrderStatusInProgress, o.Status)
	return s, o
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// getBody is a plain GET (no client credentials unless given).
func (e *env) getBody(t *testing.T, url string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := e.httpClient(t).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

func TestOrderFullLife(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s, o := e.startedOrder(t)
		_, cursor := e.drain(t, s.agentC, "")
		custStart, ownerStart := e.wallet(t, s.custC), e.wallet(t, s.ownerC)

		// The agent delivers; the owner reviews; the customer sees nothing yet.
		report := []byte("# Report\n\nEvery finding fixed.\n")
		d1 := e.deliver(t, s.agentC, o.Id, "First try.", upload{"report.md", report})
		require.Equal(t, 1, d1.Version)
		require.Equal(t, client.DeliveryStatusInReview, d1.Status)
		require.Len(t, d1.Files, 1)
		require.Equal(t, sha(report), d1.Files[0].Sha256)
		require.Equal(t, int64(len(report)), d1.Files[0].Size)
		require.Equal(t, "text/plain; charset=utf-8", d1.Files[0].ContentType)
		require.Equal(t, client.OrderStatusInReview, e.getOrder(t, s.custC, o.Id).Status)
		require.Empty(t, e.getOrder(t, s.custC, o.Id).Deliveries, "the customer sees no delivery before release")
		require.Len(t, e.getOrder(t, s.ownerC, o.Id).Deliveries, 1)
		dl, err := s.custC.DownloadFileWithResponse(ctx, d1.Files[0].Id, &client.DownloadFileParams{})
		require.NoError(t, err)
		requireProblem(t, dl.HTTPResponse, dl.Body, http.StatusNotFound, "not-found")

		// Time in the owner's review does not count against the agent.
		deadline := *e.getOrder(t, s.ownerC, o.Id).Deadline
		e.clock.Advance(5 * time.Hour)
		rejected := e.reject(t, s.ownerC, d1.Id, "Also fix the vet findings.")
		require.Equal(t, client.OrderStatusInProgress, rejected.Status)
		require.Equal(t, deadline.Add(5*time.Hour), *rejected.Deadline)
		page := e.poll(t, s.agentC, cursor, 0)
		require.Equal(t, []string{"delivery.rejected"}, eventTypes(page.Items))
		require.Equal(t, "Also fix the vet findings.", page.Items[0].Data["note"])
		e.ack(t, s.agentC, page.NextCursor)
		cursor = page.NextCursor

		// The second delivery is released.
		patch := []byte("diff --git a/x.go b/x.go\n")
		d2 := e.deliver(t, s.agentC, o.Id, "Fixed both.", upload{"report.md", report}, upload{"fix.patch", patch})
		require.Equal(t, 2, d2.Version)
		released := e.release(t, s.ownerC, d2.Id)
		require.Equal(t, client.OrderStatusDelivered, released.Status)
		require.NotNil(t, released.ReviewWindowEndsAt)
		require.WithinDuration(t, e.clock.Now().Add(72*time.Hour), *released.ReviewWindowEndsAt, time.Second)
		view := e.getOrder(t, s.custC, o.Id)
		require.Len(t, view.Deliveries, 1, "the customer sees the released delivery only")
		require.Equal(t, d2.Id, view.Deliveries[0].Id)

		// The customer downloads through a signed link.
		link, err := s.custC.CreateFileLinkWithResponse(ctx, d2.Files[1].Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, link.StatusCode(), "%s", link.Body)
		require.WithinDuration(t, e.clock.Now().Add(5*time.Minute), link.JSON201.ExpiresAt, time.Second)
		resp, body := e.getBody(t, e.url+link.JSON201.Url[len(e.cfg.BaseURL):], nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		require.Equal(t, patch, body)
		require.Contains(t, resp.Header.Get("Content-Disposition"), "attachment")
		require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
		require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))

		// Revision: one of one used, back to the agent with the notes and the history.
		rev, err := s.custC.RequestRevisionWithResponse(ctx, o.Id, client.RevisionRequest{
			Notes: "The tests still fail on Windows.", UnmetCriteria: []string{"tests pass"}})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, rev.StatusCode(), "%s", rev.Body)
		require.Equal(t, client.OrderStatusInProgress, rev.JSON200.Status)
		require.Equal(t, 0, rev.JSON200.RevisionsLeft)
		require.Len(t, rev.JSON200.RevisionRequests, 1)
		page = e.poll(t, s.agentC, cursor, 0)
		require.Equal(t, []string{"delivery.released", "revision.requested"}, eventTypes(page.Items))
		require.Equal(t, "The tests still fail on Windows.", page.Items[1].Data["notes"])
		require.Len(t, page.Items[1].Data["history"], 1)
		e.ack(t, s.agentC, page.NextCursor)
		cursor = page.NextCursor

		d3 := e.deliver(t, s.agentC, o.Id, "Windows fixed.", upload{"fix.patch", patch})
		require.Equal(t, 3, d3.Version)
		e.release(t, s.ownerC, d3.Id)
		again, err := s.custC.RequestRevisionWithResponse(ctx, o.Id, client.RevisionRequest{Notes: "More", UnmetCriteria: []string{"tests pass"}})
		require.NoError(t, err)
		requireProblem(t, again.HTTPResponse, again.Body, http.StatusConflict, "no-revisions-left")

		// Accept: completed, paid out by the job, exactly once.
		acc, err := s.custC.AcceptDeliveryWithResponse(ctx, o.Id, &client.AcceptDeliveryParams{IdempotencyKey: uuid.NewString()})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, acc.StatusCode(), "%s", acc.Body)
		require.Equal(t, client.OrderStatusCompleted, acc.JSON200.Status)
		e.waitJobsDone(t)
		require.Equal(t, custStart.Balance, e.wallet(t, s.custC).Balance)
		require.Zero(t, e.wallet(t, s.custC).Held)
		require.Equal(t, ownerStart.Balance+120, e.wallet(t, s.ownerC).Balance)
		require.Len(t, e.allPostings(t, s.ownerC, ptrTo(client.PostingKindPayout), &o.Id), 1)
		e.enqueue(t, orderingPayout(o.Id)) // a second run of the job pays nothing
		e.waitJobsDone(t)
		require.Len(t, e.allPostings(t, s.ownerC, ptrTo(client.PostingKindPayout), &o.Id), 1)
		page = e.poll(t, s.agentC, cursor, 0)
		require.Equal(t, []string{"delivery.released", "order.completed"}, eventTypes(page.Items))

		// Review: the reward once, the owner's reply once, the agent's figures.
		rv, err := s.custC.CreateReviewWithResponse(ctx, o.Id, &client.CreateReviewParams{IdempotencyKey: uuid.NewString()},
			client.CreateReviewRequest{Rating: 4, Text: "Good work, a bit slow."})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, rv.StatusCode(), "%s", rv.Body)
		require.Equal(t, int64(10), *rv.JSON201.Reward)
		require.Equal(t, custStart.Balance+10, e.wallet(t, s.custC).Balance)
		twice, err := s.custC.CreateReviewWithResponse(ctx, o.Id, &client.CreateReviewParams{IdempotencyKey: uuid.NewString()},
			client.CreateReviewRequest{Rating: 5, Text: "again"})
		require.NoError(t, err)
		requireProblem(t, twice.HTTPResponse, twice.Body, http.StatusConflict, "already-reviewed")
		rp, err := s.ownerC.ReplyToReviewWithResponse(ctx, rv.JSON201.Id, client.ReplyRequest{Text: "Thanks!"})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, rp.StatusCode(), "%s", rp.Body)
		rp, err = s.ownerC.ReplyToReviewWithResponse(ctx, rv.JSON201.Id, client.ReplyRequest{Text: "Again"})
		require.NoError(t, err)
		requireProblem(t, rp.HTTPResponse, rp.Body, http.StatusConflict, "already-replied")
		profile := e.getAgent(t, s.agent.Id).JSON200
		require.EqualValues(t, 4, profile.Rating)
		require.EqualValues(t, 1, profile.ReviewCount)
		require.EqualValues(t, 1, profile.CompletedOrders)
		reviews, err := e.anon(t).ListAgentReviewsWithResponse(ctx, s.agent.Handle, &client.ListAgentReviewsParams{})
		require.NoError(t, err)
		require.Len(t, reviews.JSON200.Items, 1)
		require.Equal(t, "Thanks!", *reviews.JSON200.Items[0].Reply)
		e.requireLedgerOK(t)
	})
}

func orderingPayout(order string) ordering.PayoutArgs { return ordering.PayoutArgs{OrderID: order} }

// The payout job pays only a completed order: one that is not (a dispute
// froze it, say) is left for whoever settles it.
func TestPayoutOnlyForCompletedOrders(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s, o := e.startedOrder(t)
		require.NoError(t, e.app.ordering.Payout(context.Background(), o.Id))
		require.Empty(t, e.allPostings(t, s.ownerC, ptrTo(client.PostingKindPayout), &o.Id))
		require.Equal(t, int64(120), e.wallet(t, s.custC).Held, "still in escrow")
		e.requireLedgerOK(t)
	})
}
