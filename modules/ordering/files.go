package ordering

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ordering/domain"
)

// LinkLifetime is how long a file link works.
const LinkLifetime = 5 * time.Minute

// linkKeyID names the key links are signed with (for rotation).
const linkKeyID = "1"

var errFileNotFound = kernel.NotFound("file")

// mayRead reports whether a user or agent may read a delivered file: the
// order's customer once the delivery is released, the agent's owner, the
// agent, support while the order is disputed.
func (s *Service) mayRead(ctx context.Context, p kernel.Principal, f domain.File) (bool, error) {
	o, err := s.d.Store.Order(ctx, f.OrderID, false)
	if err != nil {
		return false, err
	}
	side, ok := OrderSide(p, o)
	switch {
	case !ok:
		return p.Has(kernel.RoleSupport) && p.Method != kernel.AuthAgent && o.Status == domain.Disputed, nil
	case side == domain.AuthorCustomer:
		d, err := s.d.Store.Delivery(ctx, f.DeliveryID)
		if err != nil {
			return false, err
		}
		return d.Status == domain.DeliveryReleased, nil
	default:
		return true, nil
	}
}

func (s *Service) readable(ctx context.Context, p kernel.Principal, id string) (domain.File, error) {
	f, err := s.d.Store.File(ctx, id)
	if errors.Is(err, kernel.ErrNotFound) {
		return domain.File{}, errFileNotFound
	}
	if err != nil {
		return domain.File{}, err
	}
	ok, err := s.mayRead(ctx, p, f)
	if err != nil {
		return domain.File{}, err
	}
	if !ok {
		return domain.File{}, errFileNotFound
	}
	return f, nil
}

// OpenFile opens a delivered file p may read; anyone else is told it does not exist.
func (s *Service) OpenFile(ctx context.Context, p kernel.Principal, id string) (io.ReadSeekCloser, domain.File, error) {
	f, err := s.readable(ctx, p, id)
	if err != nil {
		return nil, domain.File{}, err
	}
	r, err := s.d.Blobs.Open(ctx, f.BlobKey)
	return r, f, err
}

// Link is a signed download link.
type Link struct {
	URL       string
	ExpiresAt time.Time
}

func (s *Service) sign(fileID string, user kernel.UserID, expires int64) string {
	m := hmac.New(sha256.New, s.d.Config.LinkKey)
	fmt.Fprintf(m, "%s\n%s\n%d\n%s", fileID, user, expires, linkKeyID)
	return linkKeyID + "." + hex.EncodeToString(m.Sum(nil))
}

// CreateFileLink signs a link to a file p may read, valid for
// LinkLifetime and only for p.
func (s *Service) CreateFileLink(ctx context.Context, p kernel.Principal, id string) (Link, error) {
	f, err := s.readable(ctx, p, id)
	if err != nil {
		return Link{}, err
	}
	exp := s.d.Clock.Now().Add(LinkLifetime).Truncate(time.Second)
	q := url.Values{"expires": {strconv.FormatInt(exp.Unix(), 10)}, "user": {string(p.UserID)}, "sig": {s.sign(f.ID, p.UserID, exp.Unix())}}
	return Link{URL: strings.TrimRight(s.d.Config.BaseURL, "/") + "/v1/files/" + f.ID + "?" + q.Encode(), ExpiresAt: exp}, nil
}

// OpenFileByLink opens a file through a signed link: the signature must
// match, the link be unexpired, the caller (if signed in) be the user it
// was made for, and that user still allowed to read it. Every refusal
// looks like a missing file.
func (s *Service) OpenFileByLink(ctx context.Context, caller kernel.Principal, id string, expires int64, user, sig string) (io.ReadSeekCloser, domain.File, error) {
	now := s.d.Clock.Now()
	want := s.sign(id, kernel.UserID(user), expires)
	if subtle.ConstantTimeCompare([]byte(want), []byte(sig)) != 1 ||
		!now.Before(time.Unix(expires, 0)) || time.Unix(expires, 0).After(now.Add(LinkLifetime+time.Second)) ||
		(!caller.Anonymous() && (caller.Method == kernel.AuthAgent || string(caller.UserID) != user)) {
		return nil, domain.File{}, errFileNotFound
	}
	// The link acts as its user, with the roles the user has now: a role
	// taken away since (support's) stops the link too.
	roles, err := s.d.People.Roles(ctx, kernel.UserID(user))
	if errors.Is(err, kernel.ErrNotFound) {
		return nil, domain.File{}, errFileNotFound
	}
	if err != nil {
		return nil, domain.File{}, err
	}
	return s.OpenFile(ctx, kernel.Principal{Method: kernel.AuthToken, UserID: kernel.UserID(user), Roles: roles}, id)
}
