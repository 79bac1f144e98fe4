package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/heepr/heepr/modules/identity"
	"github.com/heepr/heepr/modules/kernel"
)

// SessionCookie is the name of the browser session cookie.
const SessionCookie = "heepr_session"

type principalKey struct{}
type authErrKey struct{}

// withPrincipal puts the caller in the context.
func withPrincipal(ctx context.Context, p kernel.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// principalFrom returns the caller (anonymous when none).
func principalFrom(ctx context.Context) kernel.Principal {
	p, _ := ctx.Value(principalKey{}).(kernel.Principal)
	return p
}

// authenticate resolves credentials into a principal. It rejects nothing:
// bad credentials leave the caller anonymous and the reason in the context,
// so an operation that needs a principal answers 401 with that reason and
// a public one still works.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r = s.withCaller(w, r); r != nil {
			next.ServeHTTP(w, r)
		}
	})
}

// withCaller is authenticate's work: the request with the caller in its
// context, or nil when it answered (the database failed). Out of the
// middleware's frame, which stays on the stack while a long-poll waits.
//
//go:noinline
func (s *Server) withCaller(w http.ResponseWriter, r *http.Request) *http.Request {
	ctx := r.Context()
	var (
		p   kernel.Principal
		err error
	)
	if h := r.Header.Get("Authorization"); h != "" {
		token, ok := strings.CutPrefix(h, "Bearer ")
		switch {
		case !ok:
			err = kernel.Unauthenticated("invalid-token", "the Authorization header must be 'Bearer <token>'")
		case s.agentAuth != nil && strings.HasPrefix(token, "hpr_agent_"):
			p, err = s.agentAuth(ctx, token)
		default:
			p, err = s.identity.AuthenticateToken(ctx, strings.TrimSpace(token))
		}
	} else if c, cerr := r.Cookie(SessionCookie); cerr == nil && c.Value != "" {
		p, err = s.identity.AuthenticateSession(ctx, c.Value)
	}
	if err != nil {
		if _, ok := kernel.As(err); !ok { // the database failed, not the caller
			writeError(w, r, s.log, err)
			return nil
		}
		ctx = context.WithValue(ctx, authErrKey{}, err)
		p = kernel.Principal{}
	}
	return r.WithContext(withPrincipal(ctx, p))
}

// unauthenticated is the 401 answer, with the reason credentials failed if any.
func unauthenticated(ctx context.Context) problem {
	if err, ok := ctx.Value(authErrKey{}).(error); ok {
		return fromError(err)
	}
	return problem{Status: http.StatusUnauthorized, Code: "unauthenticated",
		Detail: "sign in, or send Authorization: Bearer <token>"}
}

// sessionCookie builds the Set-Cookie value for a new session.
func (s *Server) sessionCookie(in identity.SignedIn) string {
	c := &http.Cookie{
		Name: SessionCookie, Value: in.SessionID, Path: "/", HttpOnly: true, Secure: s.secureCookies,
		SameSite: http.SameSiteLaxMode, Expires: in.ExpiresAt, MaxAge: max(int(in.ExpiresAt.Sub(s.clock.Now()).Seconds()), 1),
	}
	return c.String()
}

// clearCookie removes the session cookie.
func (s *Server) clearCookie() string {
	c := &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: s.secureCookies,
		SameSite: http.SameSiteLaxMode, MaxAge: -1}
	return c.String()
}

// SecureCookies decides the cookie's Secure flag from the public URL: on
// unless heepr is served over plain HTTP to a host other than localhost
// (browsers treat localhost as a secure context).
func SecureCookies(baseURL string) bool {
	u, err := url.Parse(baseURL)
	if err != nil || u.Scheme != "http" {
		return true
	}
	h := u.Hostname()
	return h == "localhost" || h == "127.0.0.1" || h == "::1"
}
