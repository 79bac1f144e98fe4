package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/api/client"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ordering"
)

// More of the second half of an order's life (issue 6): who may read a
// delivered file, how uploads are bounded, what time alone does, and the
// edges of reviews and notifications.

// --- helpers ---------------------------------------------------------------

// download calls downloadFile as c, with extra request headers (Range).
func (e *env) download(t *testing.T, c *client.ClientWithResponses, file string, header http.Header) *client.DownloadFileResponse {
	t.Helper()
	resp, err := c.DownloadFileWithResponse(context.Background(), file, &client.DownloadFileParams{},
		func(_ context.Context, r *http.Request) error {
			for k, v := range header {
				r.Header[k] = v
			}
			return nil
		})
	require.NoError(t, err)
	return resp
}

// requireDownload checks a 200 download: the bytes and the headers every
// download carries.
func requireDownload(t *testing.T, resp *http.Response, body []byte, name string, want []byte) {
	t.Helper()
	require.Equal(t, http.StatusOK, resp.StatusCode, "downloadFile: %s", body)
	require.Equal(t, want, body)
	requireDownloadHeaders(t, resp, name)
}

// requireDownloadHeaders: an attachment with the file's name, never sniffed, never stored.
func requireDownloadHeaders(t *testing.T, resp *http.Response, name string) {
	t.Helper()
	disp, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
	require.NoError(t, err, "Content-Disposition %q", resp.Header.Get("Content-Disposition"))
	require.Equal(t, "attachment", disp)
	require.Equal(t, name, params["filename"])
	require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
}

// requireFileNotFound checks a refusal is the 404 a missing file gets, word for word.
func requireFileNotFound(t *testing.T, resp *http.Response, body []byte, missing client.Problem, who string) {
	t.Helper()
	requireProblem(t, resp, body, http.StatusNotFound, "not-found")
	require.Equal(t, missing, problemBody(t, body), "%s: the refusal differs from a missing file's", who)
}

// fileLink calls createFileLink as c, requires 201, and returns the link.
func (e *env) fileLink(t *testing.T, c *client.ClientWithResponses, file string) *url.URL {
	t.Helper()
	resp, err := c.CreateFileLinkWithResponse(context.Background(), file)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode(), "createFileLink: %s", resp.Body)
	require.True(t, strings.HasPrefix(resp.JSON201.Url, e.cfg.BaseURL+"/v1/files/"+file+"?"), resp.JSON201.Url)
	require.False(t, resp.JSON201.ExpiresAt.After(e.clock.Now().Add(5*time.Minute)), "a link lives at most 5 minutes")
	u, err := url.Parse(resp.JSON201.Url)
	require.NoError(t, err)
	return u
}

// getLink follows a link (its path and query) on the test server.
func (e *env) getLink(t *testing.T, u *url.URL, header http.Header) (*http.Response, []byte) {
	t.Helper()
	return e.getBody(t, e.url+u.RequestURI(), header)
}

// tamper returns a copy of the link with one query parameter changed.
func tamper(u *url.URL, key string, edit func(string) string) *url.URL {
	out := *u
	q := out.Query()
	q.Set(key, edit(q.Get(key)))
	out.RawQuery = q.Encode()
	return &out
}

func bearerHeader(key string) http.Header { return http.Header{"Authorization": {"Bearer " + key}} }

// blobFiles counts the regular files (temp files included) under the blob folder.
func (e *env) blobFiles(t *testing.T) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(e.cfg.DataDir, "blobs"), func(_ string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			n++
		}
		return nil
	})
	require.NoError(t, err)
	return n
}

// storedState is what a delivery stores: its rows, its blobs, the order's status.
type storedState struct {
	Deliveries, Files, Blobs int
	Status                   client.OrderStatus
}

func (e *env) storedState(t *testing.T, c *client.ClientWithResponses, order string) storedState {
	t.Helper()
	e.waitJobsDone(t) // skill packages are blobs too, rendered by a job
	return storedState{Deliveries: e.count(t, "deliveries"), Files: e.count(t, "delivery_files"), Blobs: e.blobFiles(t),
		Status: e.orderStatus(t, c, order)}
}

// runTimers runs the periodic timers job through River and waits for it
// (and the jobs it enqueues) to finish.
func (e *env) runTimers(t *testing.T) {
	t.Helper()
	e.enqueue(t, ordering.TimersArgs{})
	e.waitJobsDone(t)
}

// notificationsOf counts a user's notifications of a kind.
func (e *env) notificationsOf(t *testing.T, c *client.ClientWithResponses, kind string) int {
	t.Helper()
	n := 0
	for _, x := range e.notifications(t, c) {
		if x.Kind == kind {
			n++
		}
	}
	return n
}

func (e *env) cancelOrder(t *testing.T, c *client.ClientWithResponses, order string) *client.CancelOrderResponse {
	t.Helper()
	resp, err := c.CancelOrderWithResponse(context.Background(), order, &client.CancelOrderParams{IdempotencyKey: uuid.NewString()})
	require.NoError(t, err)
	return resp
}

// completedOrder runs one more order of the shop to completion and its payout.
func (e *env) completedOrder(t *testing.T, s shop) client.Order {
	t.Helper()
	conv := e.contact(t, s.custC, s.agent.Id, "Another job.")
	o := e.accept(t, s.custC, e.sendQuote(t, s.agentC, conv.Id, e.quoteReq()).Id)
	d := e.deliver(t, s.agentC, o.Id, "Done.", upload{"report.md", []byte("# Done\n")})
	e.release(t, s.ownerC, d.Id)
	acc, err := s.custC.AcceptDeliveryWithResponse(context.Background(), o.Id, &client.AcceptDeliveryParams{IdempotencyKey: uuid.NewString()})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, acc.StatusCode(), "acceptDelivery: %s", acc.Body)
	e.waitJobsDone(t)
	return *acc.JSON200
}

func (e *env) createReview(t *testing.T, c *client.ClientWithResponses, order string, rating int, text string) *client.CreateReviewResponse {
	t.Helper()
	resp, err := c.CreateReviewWithResponse(context.Background(), order, &client.CreateReviewParams{IdempotencyKey: uuid.NewString()},
		client.CreateReviewRequest{Rating: rating, Text: text})
	require.NoError(t, err)
	return resp
}

// --- 1. who may read a delivered file -------------------------------------------

func TestDeliveredFileAccessMatrix(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s, o := e.startedOrder(t)
		other := e.autoShop(t) // another owner, customer and agent
		support := e.supportAccount(t, "staff-"+randomID()[:6]+"@heepr.dev")
		supportC := e.withCookie(t, support.Session)

		// What a file id nobody has answers: every refusal below must look the same.
		missing := e.download(t, s.ownerC, kernel.NewID(), nil)
		requireProblem(t, missing.HTTPResponse, missing.Body, http.StatusNotFound, "not-found")
		notFound := problemBody(t, missing.Body)

		rejectedBody := []byte("# First try\n")
		d1 := e.deliver(t, s.agentC, o.Id, "First try.", upload{"first.md", rejectedBody})
		f1 := d1.Files[0].Id
		content := []byte("0123456789 the whole report\n")
		check := func(stage string) {
			t.Helper()
			// The owner and the agent read any delivered file, at any time.
			for who, c := range map[string]*client.ClientWithResponses{"owner": s.ownerC, "agent": s.agentC} {
				r := e.download(t, c, f1, nil)
				require.Equal(t, http.StatusOK, r.StatusCode(), "%s, %s: %s", stage, who, r.Body)
				requireDownload(t, r.HTTPResponse, r.Body, "first.md", rejectedBody)
			}
			// Everyone else is told the file does not exist.
			for who, c := range map[string]*client.ClientWithResponses{"other customer": other.custC, "other owner": other.ownerC,
				"other agent": other.agentC, "support (no dispute)": supportC} {
				r := e.download(t, c, f1, nil)
				requireFileNotFound(t, r.HTTPResponse, r.Body, notFound, stage+", "+who)
			}
			// The customer never sees a delivery the owner did not release.
			r := e.download(t, s.custC, f1, nil)
			requireFileNotFound(t, r.HTTPResponse, r.Body, notFound, stage+", the customer")
		}

		// In the owner's review: the customer sees nothing.
		check("in review")
		for who, c := range map[string]*client.ClientWithResponses{"the customer": s.custC, "other customer": other.custC, "other owner": other.ownerC} {
			l, err := c.CreateFileLinkWithResponse(ctx, f1)
			require.NoError(t, err)
			requireFileNotFound(t, l.HTTPResponse, l.Body, notFound, "a link for "+who)
		}
		// Without credentials and without a link: sign in first.
		anon := e.download(t, e.anon(t), f1, nil)
		requireProblem(t, anon.HTTPResponse, anon.Body, http.StatusUnauthorized, "unauthenticated")

		// Rejected: the customer never sees that delivery.
		e.reject(t, s.ownerC, d1.Id, "Add the whole report.")
		check("rejected")

		d2 := e.deliver(t, s.agentC, o.Id, "The whole report.", upload{"report.md", content})
		f2 := d2.Files[0].Id
		r := e.download(t, s.custC, f2, nil)
		requireFileNotFound(t, r.HTTPResponse, r.Body, notFound, "the customer before release")

		// Released: the customer reads the released delivery, still not the rejected one.
		e.release(t, s.ownerC, d2.Id)
		check("released")
		r = e.download(t, s.custC, f2, nil)
		requireDownload(t, r.HTTPResponse, r.Body, "report.md", content)
		for who, c := range map[string]*client.ClientWithResponses{"owner": s.ownerC, "agent": s.agentC} {
			r = e.download(t, c, f2, nil)
			require.Equal(t, http.StatusOK, r.StatusCode(), "%s: %s", who, r.Body)
			requireDownload(t, r.HTTPResponse, r.Body, "report.md", content)
		}
		for who, c := range map[string]*client.ClientWithResponses{"other customer": other.custC, "other owner": other.ownerC,
			"other agent": other.agentC, "support (no dispute)": supportC} {
			r = e.download(t, c, f2, nil)
			requireFileNotFound(t, r.HTTPResponse, r.Body, notFound, "released, "+who)
		}

		// Range requests.
		rg := e.download(t, s.custC, f2, http.Header{"Range": {"bytes=2-5"}})
		require.Equal(t, http.StatusPartialContent, rg.StatusCode(), "%s", rg.Body)
		require.Equal(t, content[2:6], rg.Body)
		require.Equal(t, "bytes 2-5/"+strconv.Itoa(len(content)), rg.HTTPResponse.Header.Get("Content-Range"))
		requireDownloadHeaders(t, rg.HTTPResponse, "report.md")
		rg = e.download(t, s.agentC, f2, http.Header{"Range": {"bytes=-4"}})
		require.Equal(t, http.StatusPartialContent, rg.StatusCode(), "%s", rg.Body)
		require.Equal(t, content[len(content)-4:], rg.Body)
		// A range outside the file, or a failed If-Match: problems like every other error.
		rg = e.download(t, s.custC, f2, http.Header{"Range": {"bytes=999999-"}})
		requireProblem(t, rg.HTTPResponse, rg.Body, http.StatusRequestedRangeNotSatisfiable, "range-not-satisfiable")
		require.Equal(t, "bytes */"+strconv.Itoa(len(content)), rg.HTTPResponse.Header.Get("Content-Range"))
		require.Empty(t, rg.HTTPResponse.Header.Get("Content-Disposition"))
		rg = e.download(t, s.custC, f2, http.Header{"If-Match": {`"not-this-file"`}})
		requireProblem(t, rg.HTTPResponse, rg.Body, http.StatusPreconditionFailed, "precondition-failed")

		// The customer's signed link: anonymously, and signed in as its user.
		link := e.fileLink(t, s.custC, f2)
		resp, body := e.getLink(t, link, nil)
		requireDownload(t, resp, body, "report.md", content)
		resp, body = e.getLink(t, link, cookieHeader(s.customer.Session))
		requireDownload(t, resp, body, "report.md", content)
		resp, body = e.getLink(t, link, http.Header{"Range": {"bytes=2-5"}})
		require.Equal(t, http.StatusPartialContent, resp.StatusCode, "%s", body)
		require.Equal(t, content[2:6], body)
		requireDownloadHeaders(t, resp, "report.md")

		// Used by anyone else signed in: not found.
		for who, h := range map[string]http.Header{"other customer": cookieHeader(other.customer.Session),
			"the order's owner": cookieHeader(s.owner.Session), "the agent": bearerHeader(s.key),
			"support": cookieHeader(support.Session)} {
			resp, body = e.getLink(t, link, h)
			requireFileNotFound(t, resp, body, notFound, "the customer's link used by "+who)
		}

		// Tampered: the signature, the user, the expiry, the file.
		flip := func(v string) string {
			last := v[len(v)-1]
			repl := byte('0')
			if last == '0' {
				repl = '1'
			}
			return v[:len(v)-1] + string(repl)
		}
		expires, err := strconv.ParseInt(link.Query().Get("expires"), 10, 64)
		require.NoError(t, err)
		tampered := map[string]*url.URL{
			"sig":             tamper(link, "sig", flip),
			"sig (first)":     tamper(link, "sig", func(v string) string { return "2" + v[1:] }),
			"no sig":          tamper(link, "sig", func(string) string { return "" }),
			"user":            tamper(link, "user", func(string) string { return other.customer.ID }),
			"user (one char)": tamper(link, "user", flip),
			"expires +1":      tamper(link, "expires", func(string) string { return strconv.FormatInt(expires+1, 10) }),
			"expires -1":      tamper(link, "expires", func(string) string { return strconv.FormatInt(expires-1, 10) }),
		}
		otherFile := *link
		otherFile.Path = "/v1/files/" + f1
		tampered["file"] = &otherFile
		for what, u := range tampered {
			resp, body = e.getLink(t, u, nil)
			requireFileNotFound(t, resp, body, notFound, "a link with a tampered "+what)
		}
		// The other customer, signed in, with the user changed to theirs: still nothing.
		resp, body = e.getLink(t, tampered["user"], cookieHeader(other.customer.Session))
		requireFileNotFound(t, resp, body, notFound, "a link re-addressed to the user using it")

		// Expired: 5 minutes after it was made, it is gone.
		e.clock.Advance(5*time.Minute - time.Second)
		resp, body = e.getLink(t, link, nil)
		requireDownload(t, resp, body, "report.md", content)
		e.clock.Advance(time.Second)
		resp, body = e.getLink(t, link, nil)
		requireFileNotFound(t, resp, body, notFound, "an expired link")
		resp, body = e.getLink(t, link, cookieHeader(s.customer.Session))
		requireFileNotFound(t, resp, body, notFound, "an expired link used by its user")

		// An agent cannot make links, not even to its own files: an agent key
		// is the wrong kind of credentials for createFileLink.
		al, err := s.agentC.CreateFileLinkWithResponse(ctx, f2)
		require.NoError(t, err)
		p := requireProblem(t, al.HTTPResponse, al.Body, http.StatusUnauthorized, "unauthenticated")
		require.Contains(t, *p.Detail, "agent key")
		e.requireLedgerOK(t)
	})
}

// The owner may make links too: a link is bound to the user who made it,
// whoever that is.
func TestFileLinkOfOwner(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s, o := e.startedOrder(t)
		content := []byte("# The report\n")
		d := e.deliver(t, s.agentC, o.Id, "Done.", upload{"report.md", content})
		f := d.Files[0].Id
		notFound := problemBody(t, e.download(t, s.ownerC, kernel.NewID(), nil).Body)

		// In the owner's review: not for the customer; as the owner and anonymously, yes.
		ownerLink := e.fileLink(t, s.ownerC, f)
		resp, body := e.getLink(t, ownerLink, cookieHeader(s.customer.Session))
		requireFileNotFound(t, resp, body, notFound, "the owner's link used by the customer")
		resp, body = e.getLink(t, ownerLink, cookieHeader(s.owner.Session))
		requireDownload(t, resp, body, "report.md", content)
		resp, body = e.getLink(t, ownerLink, nil)
		requireDownload(t, resp, body, "report.md", content)
		e.clock.Advance(5 * time.Minute)
		resp, body = e.getLink(t, ownerLink, nil)
		requireFileNotFound(t, resp, body, notFound, "the owner's expired link")
	})
}

// Support reads the files of a disputed order, and of no other.
func TestFilesOfDisputedOrderForSupport(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s, o := e.startedOrder(t)
		support := e.supportAccount(t, "staff-"+randomID()[:6]+"@heepr.dev")
		supportC := e.withCookie(t, support.Session)
		content := []byte("# The report\n")
		d := e.deliver(t, s.agentC, o.Id, "Done.", upload{"report.md", content})
		f := d.Files[0].Id
		notFound := problemBody(t, e.download(t, s.ownerC, kernel.NewID(), nil).Body)

		r := e.download(t, supportC, f, nil)
		requireFileNotFound(t, r.HTTPResponse, r.Body, notFound, "support, no dispute")
		l, err := supportC.CreateFileLinkWithResponse(ctx, f)
		require.NoError(t, err)
		requireFileNotFound(t, l.HTTPResponse, l.Body, notFound, "a support link, no dispute")

		// Disputed (support-driven; no operation opens a dispute yet, so the row is set).
		_, err = e.app.db.Bun.NewUpdate().Table("orders").Set("status = ?", "disputed").Where("id = ?", o.Id).Exec(ctx)
		require.NoError(t, err)
		r = e.download(t, supportC, f, nil)
		requireDownload(t, r.HTTPResponse, r.Body, "report.md", content)
		other := e.autoShop(t)
		r = e.download(t, other.custC, f, nil)
		requireFileNotFound(t, r.HTTPResponse, r.Body, notFound, "another customer, disputed")
		supportLink := e.fileLink(t, supportC, f)
		resp, body := e.getLink(t, supportLink, cookieHeader(s.owner.Session))
		requireFileNotFound(t, resp, body, notFound, "support's link used by the owner")
		resp, body = e.getLink(t, supportLink, cookieHeader(support.Session))
		requireDownload(t, resp, body, "report.md", content)
		resp, body = e.getLink(t, supportLink, nil)
		requireDownload(t, resp, body, "report.md", content)
	})
}

// --- 2. uploads ------------------------------------------------------------------

func TestDeliveryUploadRefusalsStoreNothing(t *testing.T) {
	t.Parallel()
	const limit = 1024
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s, o := e.startedOrder(t)
		other := e.autoShop(t)
		before := e.storedState(t, s.custC, o.Id)
		require.Equal(t, client.OrderStatusInProgress, before.Status)
		text := func(n int) []byte { return bytes.Repeat([]byte("a"), n) }
		refused := func(what string) {
			t.Helper()
			require.Equal(t, before, e.storedState(t, s.custC, o.Id), "%s stored something", what)
		}

		// A file over the limit: 413, and nothing kept (not even the file before it).
		resp := e.deliverResp(t, s.agentC, o.Id, "Too big.", upload{"big.txt", text(2 * limit)})
		requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusRequestEntityTooLarge, "file-too-large")
		refused("a file over the limit")
		resp = e.deliverResp(t, s.agentC, o.Id, "Small, then too big.", upload{"small.txt", text(10)}, upload{"big.txt", text(limit + 1)})
		requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusRequestEntityTooLarge, "file-too-large")
		refused("a file over the limit after a good one")

		// A body over the whole-request limit (10 files and 1 MiB for the rest).
		whole := 10*limit + 1<<20
		ct, mp := multipartBody(t, "Padded.", upload{"small.txt", text(10)})
		padded := append(preamble(whole+1), mp.Bytes()...)
		resp, err := s.agentC.DeliverOrderWithBodyWithResponse(ctx, o.Id, ct, bytes.NewReader(padded))
		require.NoError(t, err)
		requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusRequestEntityTooLarge, "body-too-large")
		refused("a body over the limit")

		// Eleven files.
		var eleven []upload
		for i := range 11 {
			eleven = append(eleven, upload{"f" + strconv.Itoa(i) + ".txt", text(5)})
		}
		resp = e.deliverResp(t, s.agentC, o.Id, "Eleven.", eleven...)
		p := requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusBadRequest, "validation")
		require.Contains(t, fieldNames(p), "files")
		refused("eleven files")

		// A type not on the allowlist: executables (sniffed as application/octet-stream).
		pe := append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"), make([]byte, 64)...)
		elf := append([]byte("\x7fELF\x02\x01\x01\x00"), make([]byte, 64)...)
		for name, body := range map[string][]byte{"tool.exe": pe, "tool": elf, "tool.txt": pe} {
			resp = e.deliverResp(t, s.agentC, o.Id, "A binary.", upload{"readme.txt", text(10)}, upload{name, body})
			p = requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusBadRequest, "unsupported-file-type")
			require.Contains(t, *p.Detail, "application/octet-stream")
			refused("an executable named " + name)
		}

		// No message, or a blank one.
		resp = e.deliverResp(t, s.agentC, o.Id, "", upload{"readme.txt", text(10)})
		p = requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusBadRequest, "validation")
		require.Equal(t, []string{"message"}, fieldNames(p))
		refused("a delivery without a message")
		resp = e.deliverResp(t, s.agentC, o.Id, "   \n ", upload{"readme.txt", text(10)})
		p = requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusBadRequest, "validation")
		require.Equal(t, []string{"message"}, fieldNames(p))
		refused("a delivery with a blank message")

		// Another agent: the order does not exist for it. A customer or an owner may not deliver.
		resp = e.deliverResp(t, other.agentC, o.Id, "Not mine.", upload{"readme.txt", text(10)})
		requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusNotFound, "not-found")
		refused("another agent's delivery")
		// (A session or a personal token is the wrong kind of credentials for deliverOrder: 401.)
		for who, c := range map[string]*client.ClientWithResponses{"customer": s.custC, "owner": s.ownerC} {
			resp = e.deliverResp(t, c, o.Id, "Me?", upload{"readme.txt", text(10)})
			p = requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusUnauthorized, "unauthenticated")
			require.Contains(t, *p.Detail, "for agents")
			refused("a delivery by the " + who)
		}
		resp = e.deliverResp(t, e.anon(t), o.Id, "Anyone?", upload{"readme.txt", text(10)})
		requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusUnauthorized, "unauthenticated")
		refused("an anonymous delivery")

		// A file of exactly the limit is fine, and it is counted where the refusals were not.
		exact := text(limit)
		d := e.deliver(t, s.agentC, o.Id, "Exactly the limit.", upload{"exact.txt", exact}, upload{"small.txt", text(10)})
		require.Len(t, d.Files, 2)
		require.Equal(t, int64(limit), d.Files[0].Size)
		require.Equal(t, sha(exact), d.Files[0].Sha256)
		after := e.storedState(t, s.custC, o.Id)
		require.Equal(t, storedState{Deliveries: before.Deliveries + 1, Files: before.Files + 2, Blobs: before.Blobs + 2,
			Status: client.OrderStatusInReview}, after)
		r := e.download(t, s.ownerC, d.Files[0].Id, nil)
		requireDownload(t, r.HTTPResponse, r.Body, "exact.txt", exact)

		// In the owner's review, the agent cannot deliver again.
		resp = e.deliverResp(t, s.agentC, o.Id, "Again.", upload{"readme.txt", text(10)})
		requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusConflict, "order-not-in-progress")
		require.Equal(t, after, e.storedState(t, s.custC, o.Id), "a delivery in review stored something")
		e.requireLedgerOK(t)
	}, withConfig(func(c *config) { c.MaxUploadBytes = limit }))
}

// A body over the whole-request limit without a length up front is refused
// while it is read, with the same 413, and stores nothing.
func TestDeliveryChunkedBodyOverLimit(t *testing.T) {
	t.Parallel()
	const limit = 1024
	eachDB(t, func(t *testing.T, e *env) {
		s, o := e.startedOrder(t)
		before := e.storedState(t, s.custC, o.Id)
		ct, mp := multipartBody(t, "Padded.", upload{"small.txt", []byte("hello")})
		padded := append(preamble(10*limit+1<<20+1), mp.Bytes()...)
		resp, err := s.agentC.DeliverOrderWithBodyWithResponse(context.Background(), o.Id, ct, io.MultiReader(bytes.NewReader(padded)))
		require.NoError(t, err)
		requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusRequestEntityTooLarge, "body-too-large")
		require.Equal(t, before, e.storedState(t, s.custC, o.Id), "a chunked body over the limit stored something")

		// The same delivery without the padding, chunked, is fine.
		resp, err = s.agentC.DeliverOrderWithBodyWithResponse(context.Background(), o.Id, ct, io.MultiReader(bytes.NewReader(mp.Bytes())))
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, resp.StatusCode(), "%s", resp.Body)
	}, withConfig(func(c *config) { c.MaxUploadBytes = limit }))
}

// A delivery streams to storage as it arrives: its first file is being
// written while the agent is still sending, before the body ends (nothing,
// the OpenAPI validator included, reads the whole body first).
func TestDeliveryStreamsToStorage(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s, o := e.startedOrder(t)
		before := e.storedState(t, s.custC, o.Id)
		pr, pw := io.Pipe()
		defer pw.Close()
		mw := multipart.NewWriter(pw)
		done := make(chan *client.DeliverOrderResponse, 1)
		go func() {
			resp, err := s.agentC.DeliverOrderWithBodyWithResponse(context.Background(), o.Id, mw.FormDataContentType(), pr)
			if err != nil {
				resp = nil
			}
			done <- resp
		}()
		require.NoError(t, mw.WriteField("message", "Streamed."))
		part, err := mw.CreateFormFile("files", "stream.txt")
		require.NoError(t, err)
		first := bytes.Repeat([]byte("0123456789abcdef\n"), 256) // 4 KiB: past the sniffer's 512 bytes
		_, err = part.Write(first)
		require.NoError(t, err)

		// The body is still open: the file is already on its way to storage.
		require.Eventually(t, func() bool { return e.blobFiles(t) > before.Blobs }, 10*time.Second, 20*time.Millisecond,
			"nothing reached storage while the body was still being sent: it is buffered before the handler")

		rest := bytes.Repeat([]byte("fedcba9876543210\n"), 256)
		_, err = part.Write(rest)
		require.NoError(t, err)
		require.NoError(t, mw.Close())
		require.NoError(t, pw.Close())
		resp := <-done
		require.NotNil(t, resp)
		require.Equal(t, http.StatusCreated, resp.StatusCode(), "%s", resp.Body)
		require.Equal(t, sha(append(bytes.Clone(first), rest...)), resp.JSON201.Files[0].Sha256)
		after := e.storedState(t, s.custC, o.Id)
		require.Equal(t, before.Blobs+1, after.Blobs, "no temp file left behind")
	})
}

// preamble is at least n bytes of lines a multipart reader skips before the first part.
func preamble(n int) []byte {
	line := []byte(strings.Repeat("x", 98) + "\r\n")
	return bytes.Repeat(line, n/len(line)+1)
}

// --- 3. timers -----------------------------------------------------------------

func TestDeliveredOrderCompletesAfterReviewWindow(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s, o := e.startedOrder(t)
		_, cursor := e.drain(t, s.agentC, "")
		custStart, ownerStart := e.wallet(t, s.custC), e.wallet(t, s.ownerC)
		d := e.deliver(t, s.agentC, o.Id, "Done.", upload{"report.md", []byte("# Done\n")})
		e.clock.Advance(2 * time.Hour) // the owner's review time is not the customer's window
		released := e.release(t, s.ownerC, d.Id)
		require.WithinDuration(t, e.clock.Now().Add(72*time.Hour), *released.ReviewWindowEndsAt, time.Second)

		// 71 hours: the customer may still answer.
		e.clock.Advance(71 * time.Hour)
		e.runTimers(t)
		require.Equal(t, client.OrderStatusDelivered, e.orderStatus(t, s.custC, o.Id))
		require.Empty(t, e.allPostings(t, s.ownerC, ptrTo(client.PostingKindPayout), &o.Id))
		require.Equal(t, ownerStart, e.wallet(t, s.ownerC))

		// 72 hours: completed by itself, paid out once.
		e.clock.Advance(time.Hour)
		e.runTimers(t)
		got := e.getOrder(t, s.custC, o.Id)
		require.Equal(t, client.OrderStatusCompleted, got.Status)
		require.Len(t, e.allPostings(t, s.ownerC, ptrTo(client.PostingKindPayout), &o.Id), 1)
		require.Equal(t, ownerStart.Balance+120, e.wallet(t, s.ownerC).Balance)
		require.Equal(t, custStart.Balance, e.wallet(t, s.custC).Balance)
		require.Zero(t, e.wallet(t, s.custC).Held)
		page := e.poll(t, s.agentC, cursor, 0)
		require.Equal(t, []string{"delivery.released", "order.completed"}, eventTypes(page.Items))
		require.EqualValues(t, 1, e.getAgent(t, s.agent.Id).JSON200.CompletedOrders)

		// Later runs, and the payout job again, change nothing.
		e.clock.Advance(time.Hour)
		e.runTimers(t)
		e.enqueue(t, orderingPayout(o.Id))
		e.waitJobsDone(t)
		require.Len(t, e.allPostings(t, s.ownerC, ptrTo(client.PostingKindPayout), &o.Id), 1)
		require.Equal(t, ownerStart.Balance+120, e.wallet(t, s.ownerC).Balance)
		require.Equal(t, []string{"delivery.released", "order.completed"}, eventTypes(e.poll(t, s.agentC, cursor, 0).Items))
		require.EqualValues(t, 1, e.getAgent(t, s.agent.Id).JSON200.CompletedOrders)
		e.requireLedgerOK(t)
	})
}

func TestLateOrderMarkedAndCancelledWithRefund(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s, o := e.startedOrder(t)
		start := e.wallet(t, s.custC)
		start.Balance += 120 // what the customer had before the hold
		start.Held -= 120
		deadline := *o.Deadline
		missed := func() int64 {
			t.Helper()
			m := e.myAgent(t, s.ownerC, s.agent.Id).MissedDeadlines
			require.NotNil(t, m)
			return *m
		}

		// Just before the deadline: nothing happens.
		e.clock.Advance(deadline.Sub(e.clock.Now()) - time.Minute)
		e.runTimers(t)
		require.False(t, e.getOrder(t, s.custC, o.Id).Late)
		require.Zero(t, e.notificationsOf(t, s.custC, "ordering.deadline_missed"))
		require.Zero(t, missed())

		// Past it: late, the customer told, the agent's missed deadline counted, once.
		e.clock.Advance(2 * time.Minute)
		e.runTimers(t)
		got := e.getOrder(t, s.custC, o.Id)
		require.True(t, got.Late)
		require.Equal(t, client.OrderStatusInProgress, got.Status)
		require.Equal(t, 1, e.notificationsOf(t, s.custC, "ordering.deadline_missed"))
		require.EqualValues(t, 1, missed())
		e.clock.Advance(time.Hour)
		e.runTimers(t)
		require.Equal(t, 1, e.notificationsOf(t, s.custC, "ordering.deadline_missed"), "told once")
		require.EqualValues(t, 1, missed(), "counted once")

		// Cancelling is refused until 24 hours past the deadline.
		e.clock.Advance(deadline.Add(24*time.Hour).Sub(e.clock.Now()) - time.Second)
		resp := e.cancelOrder(t, s.custC, o.Id)
		requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusConflict, "cancel-not-allowed")
		require.Equal(t, client.OrderStatusInProgress, e.orderStatus(t, s.custC, o.Id))
		require.Empty(t, e.allPostings(t, s.custC, ptrTo(client.PostingKindRefund), &o.Id))
		// Only the customer cancels.
		oc, err := s.ownerC.CancelOrderWithResponse(context.Background(), o.Id, &client.CancelOrderParams{IdempotencyKey: uuid.NewString()})
		require.NoError(t, err)
		require.Equal(t, http.StatusForbidden, oc.StatusCode(), "%s", oc.Body)

		e.clock.Advance(time.Second)
		resp = e.cancelOrder(t, s.custC, o.Id)
		require.Equal(t, http.StatusOK, resp.StatusCode(), "cancelOrder: %s", resp.Body)
		require.Equal(t, client.OrderStatusCancelled, resp.JSON200.Status)
		require.Equal(t, client.OrderCancelReasonLate, *resp.JSON200.CancelReason)
		require.Equal(t, start, e.wallet(t, s.custC), "a full refund")
		refunds := e.allPostings(t, s.custC, ptrTo(client.PostingKindRefund), &o.Id)
		require.Len(t, refunds, 1)
		require.EqualValues(t, 120, refunds[0].Amount)
		evs, _ := e.drain(t, s.agentC, "")
		require.Equal(t, "order.cancelled", evs[len(evs)-1].Type)
		require.Equal(t, "late", evs[len(evs)-1].Data["reason"])

		// Once.
		resp = e.cancelOrder(t, s.custC, o.Id)
		requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusConflict, "cancel-not-allowed")
		require.Len(t, e.allPostings(t, s.custC, ptrTo(client.PostingKindRefund), &o.Id), 1)
		e.requireLedgerOK(t)
	})
}

func TestCancelPendingApprovalAndRefusedStates(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.manualShop(t)
		start := e.wallet(t, s.custC)
		conv := e.contact(t, s.custC, s.agent.Id, "Please.")
		o := e.accept(t, s.custC, e.sendQuote(t, s.agentC, conv.Id, e.quoteReq()).Id)
		require.Equal(t, client.OrderStatusPendingApproval, o.Status)

		// Withdrawn before approval, any time (here near the end of the approval window).
		e.clock.Advance(47 * time.Hour)
		resp := e.cancelOrder(t, s.custC, o.Id)
		require.Equal(t, http.StatusOK, resp.StatusCode(), "cancelOrder: %s", resp.Body)
		require.Equal(t, client.OrderStatusCancelled, resp.JSON200.Status)
		require.Equal(t, client.OrderCancelReasonWithdrawn, *resp.JSON200.CancelReason)
		require.Equal(t, start, e.wallet(t, s.custC), "a full refund")
		require.Len(t, e.allPostings(t, s.custC, ptrTo(client.PostingKindRefund), &o.Id), 1)
		ap, err := s.ownerC.ApproveOrderWithResponse(ctx, o.Id, &client.ApproveOrderParams{IdempotencyKey: uuid.NewString()})
		require.NoError(t, err)
		requireProblem(t, ap.HTTPResponse, ap.Body, http.StatusConflict, "order-not-pending")
		require.Equal(t, 0, e.runExpiry(t), "a withdrawn order does not expire again")
		require.Len(t, e.allPostings(t, s.custC, ptrTo(client.PostingKindRefund), &o.Id), 1)

		// Another customer: no such order.
		other := e.autoShop(t)
		o2 := e.accept(t, s.custC, e.sendQuote(t, s.agentC, conv.Id, e.quoteReq()).Id)
		resp = e.cancelOrder(t, other.custC, o2.Id)
		requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusNotFound, "not-found")

		// In the owner's review (and so in delivery), never, however late.
		e.approve(t, s.ownerC, o2.Id)
		d := e.deliver(t, s.agentC, o2.Id, "Done.", upload{"report.md", []byte("# Done\n")})
		e.clock.Advance(5 * 24 * time.Hour) // (sessions idle out after 7 days)
		resp = e.cancelOrder(t, s.custC, o2.Id)
		requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusConflict, "cancel-not-allowed")
		e.release(t, s.ownerC, d.Id)
		resp = e.cancelOrder(t, s.custC, o2.Id)
		requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusConflict, "cancel-not-allowed")
		require.Empty(t, e.allPostings(t, s.custC, ptrTo(client.PostingKindRefund), &o2.Id))
		e.requireLedgerOK(t)
	})
}

func (e *env) approve(t *testing.T, c *client.ClientWithResponses, order string) client.Order {
	t.Helper()
	resp, err := c.ApproveOrderWithResponse(context.Background(), order, &client.ApproveOrderParams{IdempotencyKey: uuid.NewString()})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "approveOrder: %s", resp.Body)
	return *resp.JSON200
}

func TestStalledOwnerReviewRemindsThenEscalates(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s, o := e.startedOrder(t)
		deadline := *o.Deadline
		d := e.deliver(t, s.agentC, o.Id, "Done.", upload{"report.md", []byte("# Done\n")})
		deliveredAt := e.clock.Now()
		const subject = "Automatic signal: review_stalled"
		stalled := func() int { t.Helper(); return len(e.mailTo(t, e.cfg.SupportEmail, subject)) }

		// A day less a minute: nothing yet.
		e.clock.Advance(24*time.Hour - time.Minute)
		e.runTimers(t)
		require.Zero(t, e.notificationsOf(t, s.ownerC, "ordering.review_reminder"))

		// A day: the owner is reminded, once.
		e.clock.Advance(time.Minute)
		e.runTimers(t)
		require.Equal(t, 1, e.notificationsOf(t, s.ownerC, "ordering.review_reminder"))
		require.Zero(t, e.notificationsOf(t, s.custC, "ordering.review_reminder"), "the customer knows nothing of the review")
		e.clock.Advance(time.Hour)
		e.runTimers(t)
		require.Equal(t, 1, e.notificationsOf(t, s.ownerC, "ordering.review_reminder"), "reminded once")
		require.Zero(t, stalled())

		// Three days: a support case opens and support hears by email, once.
		e.clock.Advance(72*time.Hour - 25*time.Hour - time.Minute)
		e.runTimers(t)
		require.Zero(t, stalled(), "not before 72 hours")
		e.clock.Advance(time.Minute)
		e.runTimers(t)
		require.Equal(t, 1, stalled())
		mail, err := e.heepr(t, "", "mail", "show", e.mailTo(t, e.cfg.SupportEmail, subject)[0])
		require.NoError(t, err)
		require.Contains(t, mail, o.Id)
		require.Contains(t, mail, "Tag:     moderation.signal")
		e.clock.Advance(time.Hour)
		e.runTimers(t)
		require.Equal(t, 1, stalled(), "escalated once")
		require.Equal(t, 1, e.notificationsOf(t, s.ownerC, "ordering.review_reminder"))

		// The waiting never made the order late; releasing moves the deadline by it.
		got := e.getOrder(t, s.ownerC, o.Id)
		require.False(t, got.Late)
		require.Equal(t, client.OrderStatusInReview, got.Status)
		released := e.release(t, s.ownerC, d.Id)
		require.Equal(t, deadline.Add(e.clock.Now().Sub(deliveredAt)), *released.Deadline)
		e.requireLedgerOK(t)
	})
}

// --- 4. reviews and notifications -----------------------------------------------

func TestReviewRefusalsAndPaging(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s, inProgress := e.startedOrder(t)
		other := e.autoShop(t)
		o1 := e.completedOrder(t, s)
		o2 := e.completedOrder(t, s)
		state := func() string {
			t.Helper()
			return strconv.Itoa(e.count(t, "reviews")) + " " + strconv.Itoa(e.postingsOf(t, s.customer.ID, client.PostingKindReviewReward))
		}
		before, ledgerBefore := state(), e.ledgerState(t)
		require.Equal(t, "0 0", before)

		// Not completed.
		resp := e.createReview(t, s.custC, inProgress.Id, 5, "Great")
		requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusConflict, "order-not-completed")
		// Bad stars, too long a text.
		for _, rating := range []int{0, 6, -1} {
			resp = e.createReview(t, s.custC, o1.Id, rating, "Stars")
			p := requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusBadRequest, "validation")
			require.Contains(t, fieldNames(p), "rating")
		}
		resp = e.createReview(t, s.custC, o1.Id, 5, strings.Repeat("é", 5001))
		p := requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusBadRequest, "validation")
		require.Contains(t, fieldNames(p), "text")
		// Another customer: no such order.
		resp = e.createReview(t, other.custC, o1.Id, 1, "Not mine")
		requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusNotFound, "not-found")
		resp = e.createReview(t, s.custC, kernel.NewID(), 5, "Nothing")
		requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusNotFound, "not-found")
		require.Equal(t, before, state(), "a refused review changed something")
		e.requireLedgerUnchanged(t, ledgerBefore)

		// 5,000 characters is fine.
		long := strings.Repeat("é", 5000)
		r1 := e.createReview(t, s.custC, o1.Id, 5, long)
		require.Equal(t, http.StatusCreated, r1.StatusCode(), "%s", r1.Body)
		require.Equal(t, long, r1.JSON201.Text)
		r2 := e.createReview(t, s.custC, o2.Id, 2, "Slow.")
		require.Equal(t, http.StatusCreated, r2.StatusCode(), "%s", r2.Body)
		require.Equal(t, "2 2", state())

		// Replies: by another owner, to a missing review: not found.
		rp, err := other.ownerC.ReplyToReviewWithResponse(ctx, r1.JSON201.Id, client.ReplyRequest{Text: "Hijack"})
		require.NoError(t, err)
		requireProblem(t, rp.HTTPResponse, rp.Body, http.StatusNotFound, "not-found")
		foreign := problemBody(t, rp.Body)
		rp, err = s.ownerC.ReplyToReviewWithResponse(ctx, kernel.NewID(), client.ReplyRequest{Text: "Nobody"})
		require.NoError(t, err)
		requireProblem(t, rp.HTTPResponse, rp.Body, http.StatusNotFound, "not-found")
		require.Equal(t, problemBody(t, rp.Body), foreign, "a foreign review looks missing")
		rp, err = s.ownerC.ReplyToReviewWithResponse(ctx, r2.JSON201.Id, client.ReplyRequest{Text: "Sorry, faster next time."})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, rp.StatusCode(), "%s", rp.Body)

		// The agent's reviews, a page at a time, newest first.
		ids := pageThrough(t, 1, func(cursor *string) ([]string, *string) {
			resp, err := e.anon(t).ListAgentReviewsWithResponse(ctx, s.agent.Handle, &client.ListAgentReviewsParams{Limit: ptrTo(1), Cursor: cursor})
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode(), "%s", resp.Body)
			out := make([]string, len(resp.JSON200.Items))
			for i, r := range resp.JSON200.Items {
				out[i] = r.Id
			}
			return out, resp.JSON200.NextCursor
		})
		require.Equal(t, []string{r2.JSON201.Id, r1.JSON201.Id}, ids)
		all, err := e.anon(t).ListAgentReviewsWithResponse(ctx, s.agent.Id, &client.ListAgentReviewsParams{})
		require.NoError(t, err)
		require.Len(t, all.JSON200.Items, 2)
		require.Nil(t, all.JSON200.NextCursor)
		require.Equal(t, "Sorry, faster next time.", *all.JSON200.Items[0].Reply)
		require.Nil(t, all.JSON200.Items[1].Reply)
		// Another agent has none.
		none, err := e.anon(t).ListAgentReviewsWithResponse(ctx, other.agent.Handle, &client.ListAgentReviewsParams{})
		require.NoError(t, err)
		require.Empty(t, none.JSON200.Items)
		profile := e.getAgent(t, s.agent.Id).JSON200
		require.EqualValues(t, 3.5, profile.Rating)
		require.EqualValues(t, 2, profile.ReviewCount)
		e.requireLedgerOK(t)
	})
}

func TestNotificationsMarkedRead(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s, o := e.startedOrder(t)
		d := e.deliver(t, s.agentC, o.Id, "Done.", upload{"report.md", []byte("# Done\n")})
		e.release(t, s.ownerC, d.Id)

		// The customer is told of the release, unread.
		notes := e.notifications(t, s.custC)
		require.NotEmpty(t, notes)
		require.Equal(t, "ordering.delivery_released", notes[0].Kind)
		for _, n := range notes {
			require.False(t, n.Read, "%s", n.Kind)
		}
		ownerNotes := e.notifications(t, s.ownerC)
		require.Equal(t, "ordering.delivery_awaiting_review", ownerNotes[0].Kind)

		// Mark read up to the newest: all read, the owner's untouched.
		mr, err := s.custC.MarkNotificationsReadWithResponse(ctx, client.MarkReadRequest{UpTo: notes[0].Id})
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, mr.StatusCode(), "%s", mr.Body)
		for _, n := range e.notifications(t, s.custC) {
			require.True(t, n.Read, "%s", n.Kind)
		}
		for _, n := range e.notifications(t, s.ownerC) {
			require.False(t, n.Read, "the owner's %s", n.Kind)
		}
		// Another user's id marks nothing of theirs.
		mr, err = s.custC.MarkNotificationsReadWithResponse(ctx, client.MarkReadRequest{UpTo: ownerNotes[0].Id})
		require.NoError(t, err)
		require.Less(t, mr.StatusCode(), 500, "%s", mr.Body)
		for _, n := range e.notifications(t, s.ownerC) {
			require.False(t, n.Read, "the owner's %s", n.Kind)
		}

		// What comes later is unread again.
		rev, err := s.custC.RequestRevisionWithResponse(ctx, o.Id, client.RevisionRequest{Notes: "Tests fail.", UnmetCriteria: []string{"tests pass"}})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, rev.StatusCode(), "%s", rev.Body)
		d2 := e.deliver(t, s.agentC, o.Id, "Fixed.", upload{"report.md", []byte("# Fixed\n")})
		e.release(t, s.ownerC, d2.Id)
		notes = e.notifications(t, s.custC)
		require.Equal(t, "ordering.delivery_released", notes[0].Kind)
		require.False(t, notes[0].Read)
		for _, n := range notes[1:] {
			require.True(t, n.Read, "%s", n.Kind)
		}
		mr, err = s.custC.MarkNotificationsReadWithResponse(ctx, client.MarkReadRequest{UpTo: notes[0].Id})
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, mr.StatusCode(), "%s", mr.Body)
		for _, n := range e.notifications(t, s.custC) {
			require.True(t, n.Read, "%s", n.Kind)
		}
		e.requireLedgerOK(t)
	})
}
