package ordering

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/modules/kernel"
)

// linkPeople stands in for the identity module at the People port. A link
// reaches it only once its signature, expiry and caller have passed, so it
// records whom each link was let through for; it answers that the user is
// gone, so nothing further is read.
type linkPeople struct{ let []kernel.UserID }

func (p *linkPeople) Contact(context.Context, kernel.UserID) (string, string, error) {
	return "", "", kernel.NotFound("user")
}

func (p *linkPeople) Roles(_ context.Context, id kernel.UserID) ([]kernel.Role, error) {
	p.let = append(p.let, id)
	return nil, kernel.NotFound("user")
}

type linkClock struct{ t time.Time }

func (c *linkClock) Now() time.Time { return c.t }

// linkID turns fuzz bytes into an id of the kind heepr issues (a UUIDv7's
// shape): links are only ever signed for ids and users that exist.
func linkID(b []byte) string {
	var u uuid.UUID
	copy(u[:], b)
	u[6] = u[6]&0x0f | 0x70
	u[8] = u[8]&0x3f | 0x80
	return u.String()
}

var linkSig = regexp.MustCompile(`^1\.[0-9a-f]{64}$`)

// FuzzFileLink: a signed file link opens exactly when it is one heepr
// issued (file, user, expiry and signature all as signed, with this key),
// it has not expired, it does not claim to live longer than a link can,
// and the caller is anonymous or the user it was made for (never an
// agent). Anything else (any field changed, a signature from another key
// or with one character changed, a different caller) is refused, and
// refused the same way as a missing file.
func FuzzFileLink(f *testing.F) {
	// tamper: bit 0 file, 1 user, 2 expiry, 3 signature replaced by the
	// fuzzer's; bits 4-5: 1 signed with another key, 2 signed with our key
	// for the presented fields (a link heepr issued for them), 3 one
	// character of the signature changed. caller: 0 anonymous, 1 the
	// presented user, 2 another user, 3 an agent.
	f.Add([]byte("file"), []byte("user"), int64(0), int64(time.Minute), uint8(0), "", "", int64(0), "", uint8(0))
	f.Add([]byte{1}, []byte{2}, int64(86400), int64(0), uint8(0), "", "", int64(0), "", uint8(1))
	f.Add([]byte{1}, []byte{2}, int64(0), int64(LinkLifetime), uint8(0), "", "", int64(0), "", uint8(0)) // at the expiry
	f.Add([]byte{1}, []byte{2}, int64(86400), int64(LinkLifetime-time.Nanosecond), uint8(0), "", "", int64(0), "", uint8(0))
	f.Add([]byte{1}, []byte{2}, int64(5), int64(-2*time.Second), uint8(0), "", "", int64(0), "", uint8(0))
	f.Add([]byte{1}, []byte{2}, int64(5), int64(time.Second), uint8(0), "", "", int64(0), "", uint8(2))
	f.Add([]byte{1}, []byte{2}, int64(5), int64(time.Second), uint8(0), "", "", int64(0), "", uint8(3))
	f.Add([]byte{3}, []byte{4}, int64(7), int64(time.Second), uint8(1), "0196a0b2-7c3e-7000-8000-000000000001", "", int64(0), "", uint8(0))
	f.Add([]byte{3}, []byte{4}, int64(7), int64(time.Second), uint8(2), "", "0196a0b2-7c3e-7000-8000-000000000002", int64(0), "", uint8(1))
	f.Add([]byte{3}, []byte{4}, int64(7), int64(time.Second), uint8(4), "", "", int64(1<<62), "", uint8(0))
	f.Add([]byte{3}, []byte{4}, int64(7), int64(time.Second), uint8(8), "", "", int64(0), "1.", uint8(0))
	f.Add([]byte{3}, []byte{4}, int64(7), int64(time.Second), uint8(1<<4), "", "", int64(0), "", uint8(0))
	f.Add([]byte{3}, []byte{4}, int64(7), int64(time.Second), uint8(2<<4|4), "", "", int64(1e10), "", uint8(0))
	f.Add([]byte{3}, []byte{4}, int64(7), int64(time.Second), uint8(3<<4), "", "", int64(70), "", uint8(0))
	f.Add([]byte{3}, []byte{4}, int64(7), int64(time.Second), uint8(3), "a", "b\nc", int64(0), "", uint8(0))
	f.Fuzz(func(t *testing.T, file, user []byte, issued, elapsed int64, tamper uint8, tFile, tUser string, tExp int64, tSig string, caller uint8) {
		// Issue a link the way CreateFileLink does, at any instant of the
		// next 50 years, and present it up to two hours either side.
		issuedAt := time.Unix(1_800_000_000, 0).Add(time.Duration(issued % int64(50*365*24*time.Hour)))
		clock := &linkClock{t: issuedAt}
		people := &linkPeople{}
		s := New(Deps{Clock: clock, People: people, Config: Config{LinkKey: []byte("file-links:test key")}})
		other := New(Deps{Clock: clock, People: people, Config: Config{LinkKey: []byte("file-links:other key")}})
		type link struct {
			file, user string
			exp        int64
			sig        string
		}
		g := link{file: linkID(file), user: linkID(user), exp: issuedAt.Add(LinkLifetime).Truncate(time.Second).Unix()}
		g.sig = s.sign(g.file, kernel.UserID(g.user), g.exp)
		require.Regexp(t, linkSig, g.sig)
		issuedLinks := []link{g}

		p := g
		if tamper&1 != 0 {
			p.file = tFile
		}
		if tamper&2 != 0 {
			p.user = tUser
		}
		if tamper&4 != 0 {
			p.exp = tExp
		}
		if tamper&8 != 0 {
			p.sig = tSig
		}
		switch tamper >> 4 & 3 {
		case 1:
			p.sig = other.sign(p.file, kernel.UserID(p.user), p.exp)
		case 2:
			p.sig = s.sign(p.file, kernel.UserID(p.user), p.exp)
			issuedLinks = append(issuedLinks, p)
		case 3:
			if p.sig != "" {
				i := int(uint64(tExp) % uint64(len(p.sig)))
				c := byte('0')
				if p.sig[i] == '0' {
					c = '1'
				}
				p.sig = p.sig[:i] + string(c) + p.sig[i+1:]
			}
		}

		now := issuedAt.Add(time.Duration(elapsed % int64(2*time.Hour)))
		clock.t = now
		var who kernel.Principal
		switch caller % 4 {
		case 1:
			who = kernel.Principal{Method: kernel.AuthSession, UserID: kernel.UserID(p.user), Roles: []kernel.Role{kernel.RoleCustomer}}
		case 2:
			who = kernel.Principal{Method: kernel.AuthToken, UserID: kernel.UserID(p.user + "x"), Roles: []kernel.Role{kernel.RoleCustomer}}
		case 3: // an agent, even one that names the user
			who = kernel.Principal{Method: kernel.AuthAgent, AgentID: "agent", UserID: kernel.UserID(p.user), Roles: []kernel.Role{kernel.RoleAgent}}
		}

		r, _, err := s.OpenFileByLink(context.Background(), who, p.file, p.exp, p.user, p.sig)
		require.Nil(t, r)
		require.ErrorIs(t, err, kernel.ErrNotFound, "every refusal looks like a missing file")
		e, _ := kernel.As(err)
		require.Equal(t, "file not found", e.Detail)

		exp := time.Unix(p.exp, 0)
		want := false
		for _, l := range issuedLinks {
			want = want || l == p
		}
		want = want && now.Before(exp) && !exp.After(now.Add(LinkLifetime+time.Second)) &&
			(caller%4 == 0 || caller%4 == 1)
		if want {
			require.Equal(t, []kernel.UserID{kernel.UserID(p.user)}, people.let, "an issued, unexpired link opens for its user: %+v at %s", p, now)
		} else {
			require.Empty(t, people.let, "link %+v (issued %+v) at %s, caller %d: must be refused", p, g, now, caller%4)
		}
	})
}
