package httpapi

import (
	"context"
	"net/http"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/heepr/heepr/api"
	"github.com/heepr/heepr/modules/identity"
	"github.com/heepr/heepr/modules/identity/domain"
	"github.com/heepr/heepr/modules/kernel"
)

func toAPIUser(u identity.UserView) api.User {
	roles := make([]api.Role, len(u.Roles))
	for i, r := range u.Roles {
		roles[i] = api.Role(r)
	}
	return api.User{Id: string(u.ID), Email: openapi_types.Email(u.Email), DisplayName: u.DisplayName, Roles: roles, CreatedAt: u.CreatedAt}
}

func toAPIToken(t identity.TokenView) api.PersonalToken {
	return api.PersonalToken{Id: t.ID, Name: t.Name, Prefix: t.Prefix, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt}
}

// SignUp implements signUp.
func (s *Server) SignUp(ctx context.Context, req api.SignUpRequestObject) (api.SignUpResponseObject, error) {
	b := req.Body
	out, err := s.identity.SignUp(ctx, domain.SignUp{
		Email: b.Email, Password: b.Password, DisplayName: b.DisplayName, Role: kernel.Role(b.Role),
	})
	if err != nil {
		return nil, err
	}
	return api.SignUp201JSONResponse{Body: toAPIUser(out.User), Headers: api.SignUp201ResponseHeaders{SetCookie: ptr(s.sessionCookie(out))}}, nil
}

// SignIn implements signIn. Besides the per-address limit of every
// operation, attempts are limited per email to slow password guessing
// spread over many addresses.
func (s *Server) SignIn(ctx context.Context, req api.SignInRequestObject) (api.SignInResponseObject, error) {
	w := responseWriter(ctx)
	if err := s.check(w, bucketKey{what: "signIn", by: "email", id: domain.NormalizeEmail(req.Body.Email)}, s.signInEmail); err != nil {
		return nil, err
	}
	p := principalFrom(ctx)
	out, err := s.identity.SignIn(ctx, req.Body.Email, req.Body.Password, p.SessionID)
	if err != nil {
		return nil, err
	}
	return api.SignIn200JSONResponse{Body: toAPIUser(out.User), Headers: api.SignIn200ResponseHeaders{SetCookie: ptr(s.sessionCookie(out))}}, nil
}

// SignOut implements signOut.
func (s *Server) SignOut(ctx context.Context, _ api.SignOutRequestObject) (api.SignOutResponseObject, error) {
	if err := s.identity.SignOut(ctx, principalFrom(ctx).SessionID); err != nil {
		return nil, err
	}
	return api.SignOut204Response{Headers: api.SignOut204ResponseHeaders{SetCookie: ptr(s.clearCookie())}}, nil
}

// GetMe implements getMe.
func (s *Server) GetMe(ctx context.Context, _ api.GetMeRequestObject) (api.GetMeResponseObject, error) {
	u, err := s.identity.Me(ctx, principalFrom(ctx))
	if err != nil {
		return nil, err
	}
	return api.GetMe200JSONResponse(toAPIUser(u)), nil
}

// EnableOwnerRole implements enableOwnerRole.
func (s *Server) EnableOwnerRole(ctx context.Context, _ api.EnableOwnerRoleRequestObject) (api.EnableOwnerRoleResponseObject, error) {
	out, err := s.identity.EnableOwnerRole(ctx, principalFrom(ctx))
	if err != nil {
		return nil, err
	}
	resp := api.EnableOwnerRole200JSONResponse{Body: toAPIUser(out.User)}
	if out.SessionID != "" {
		resp.Headers.SetCookie = ptr(s.sessionCookie(out))
	}
	return resp, nil
}

// CreatePersonalToken implements createPersonalToken.
func (s *Server) CreatePersonalToken(ctx context.Context, req api.CreatePersonalTokenRequestObject) (api.CreatePersonalTokenResponseObject, error) {
	t, err := s.identity.CreatePersonalToken(ctx, principalFrom(ctx), req.Body.Name)
	if err != nil {
		return nil, err
	}
	v := toAPIToken(t.TokenView)
	return api.CreatePersonalToken201JSONResponse{
		Id: v.Id, Name: v.Name, Prefix: v.Prefix, CreatedAt: v.CreatedAt, LastUsedAt: v.LastUsedAt, Token: t.Secret,
	}, nil
}

// ListPersonalTokens implements listPersonalTokens.
func (s *Server) ListPersonalTokens(ctx context.Context, req api.ListPersonalTokensRequestObject) (api.ListPersonalTokensResponseObject, error) {
	items, next, err := s.identity.ListPersonalTokens(ctx, principalFrom(ctx), deref(req.Params.Cursor), deref(req.Params.Limit))
	if err != nil {
		return nil, err
	}
	out := api.ListPersonalTokens200JSONResponse{Items: make([]api.PersonalToken, len(items))}
	for i, t := range items {
		out.Items[i] = toAPIToken(t)
	}
	if next != "" {
		out.NextCursor = &next
	}
	return out, nil
}

// RevokePersonalToken implements revokePersonalToken.
func (s *Server) RevokePersonalToken(ctx context.Context, req api.RevokePersonalTokenRequestObject) (api.RevokePersonalTokenResponseObject, error) {
	if err := s.identity.RevokePersonalToken(ctx, principalFrom(ctx), req.TokenId); err != nil {
		return nil, err
	}
	return api.RevokePersonalToken204Response{}, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

type writerKey struct{}

// responseWriter gives a strict handler the writer, for headers such as
// RateLimit that depend on what the handler decides.
func responseWriter(ctx context.Context) http.ResponseWriter {
	w, _ := ctx.Value(writerKey{}).(http.ResponseWriter)
	if w == nil {
		return discardWriter{}
	}
	return w
}

type discardWriter struct{}

func (discardWriter) Header() http.Header         { return http.Header{} }
func (discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (discardWriter) WriteHeader(int)             {}
