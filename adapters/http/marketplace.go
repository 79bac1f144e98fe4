package httpapi

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/heepr/heepr/api"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/marketplace"
	"github.com/heepr/heepr/modules/marketplace/domain"
)

func toAPICategories(cs []string) []api.Category {
	out := make([]api.Category, len(cs))
	for i, c := range cs {
		out[i] = api.Category(c)
	}
	return out
}

func fromAPICategories(cs []api.Category) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}

func toAPITiers(ts []domain.Tier) []api.Tier {
	out := make([]api.Tier, len(ts))
	for i, t := range ts {
		out[i] = api.Tier{Name: t.Name, Price: t.Price, DeliveryDays: t.DeliveryDays, Revisions: t.Revisions}
		if t.Description != "" {
			out[i].Description = ptr(t.Description)
		}
	}
	return out
}

func fromAPITiers(ts []api.Tier) []domain.Tier {
	out := make([]domain.Tier, len(ts))
	for i, t := range ts {
		out[i] = domain.Tier{Name: t.Name, Price: t.Price, DeliveryDays: t.DeliveryDays, Revisions: t.Revisions, Description: deref(t.Description)}
	}
	return out
}

func toAPIBands(b *domain.Bands) *api.AutoBands {
	if b == nil {
		return nil
	}
	return &api.AutoBands{MinPrice: b.MinPrice, MaxPrice: b.MaxPrice, Categories: toAPICategories(b.Categories),
		MaxRevisions: b.MaxRevisions, MaxActiveOrders: b.MaxActiveOrders}
}

func fromAPIBands(b *api.AutoBands) *domain.Bands {
	if b == nil {
		return nil
	}
	return &domain.Bands{MinPrice: b.MinPrice, MaxPrice: b.MaxPrice, Categories: fromAPICategories(b.Categories),
		MaxRevisions: b.MaxRevisions, MaxActiveOrders: b.MaxActiveOrders}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (s *Server) toAPIPublicAgent(a domain.Agent) api.PublicAgent {
	lo, hi := a.Settings.PriceRange()
	return api.PublicAgent{
		Id: a.ID, Handle: a.Handle, Name: a.Settings.Name, Specialty: a.Settings.Specialty, Description: a.Settings.Description,
		Categories: toAPICategories(a.Settings.Categories), Skills: nonNil(slices.Clone(a.Settings.Skills)),
		Tiers: toAPITiers(a.Settings.Tiers), PriceMin: lo, PriceMax: hi, Rating: float32(a.Figures.Rating()),
		ReviewCount: a.Figures.ReviewCount, CompletedOrders: a.Figures.CompletedOrders,
		OnTimeRate: float32(a.Figures.OnTimeRate()), Online: s.market.Online(a), CreatedAt: a.CreatedAt, PublishedAt: a.PublishedAt,
		AvatarUrl: avatarURL(a),
	}
}

func (s *Server) toAPIOwnerAgent(a domain.Agent) api.OwnerAgent {
	p := s.toAPIPublicAgent(a)
	return api.OwnerAgent{
		Id: p.Id, Handle: p.Handle, Name: p.Name, Specialty: p.Specialty, Description: p.Description, Categories: p.Categories,
		Skills: p.Skills, Tiers: p.Tiers, PriceMin: p.PriceMin, PriceMax: p.PriceMax, Rating: p.Rating,
		ReviewCount: p.ReviewCount, CompletedOrders: p.CompletedOrders, OnTimeRate: p.OnTimeRate, Online: p.Online,
		CreatedAt: p.CreatedAt, PublishedAt: p.PublishedAt, AvatarUrl: p.AvatarUrl,
		Status: api.AgentStatus(a.Status), SettingsVersion: a.SettingsVersion, PackageVersion: a.PackageVersion,
		KeyPrefix: a.KeyPrefix, LastPollAt: a.LastPollAt, Plugins: nonNil(slices.Clone(a.Settings.Plugins)),
		PollingIntervalSeconds: a.Settings.PollingIntervalSeconds, AcceptMode: api.OwnerAgentAcceptMode(a.Settings.AcceptMode),
		AutoBands: toAPIBands(a.Settings.AutoBands), MissedDeadlines: ptr(a.Figures.MissedDeadlines), UpdatedAt: a.UpdatedAt,
	}
}

// ListAgents implements listAgents.
func (s *Server) ListAgents(ctx context.Context, req api.ListAgentsRequestObject) (api.ListAgentsResponseObject, error) {
	p := req.Params
	q := domain.Query{Text: deref(p.Q), MinPrice: deref(p.MinPrice), MaxPrice: deref(p.MaxPrice),
		MinRating: float64(deref(p.MinRating)), OnlineOnly: deref(p.Online), MaxDeliveryDays: deref(p.MaxDeliveryDays),
		Limit: deref(p.Limit)}
	if p.Category != nil {
		q.Category = string(*p.Category)
	}
	if p.Sort != nil {
		q.Sort = domain.Sort(*p.Sort)
	}
	items, next, err := s.market.Browse(ctx, q, deref(p.Cursor))
	if err != nil {
		return nil, err
	}
	out := api.ListAgents200JSONResponse{Items: make([]api.PublicAgent, len(items))}
	for i, a := range items {
		out.Items[i] = s.toAPIPublicAgent(a)
	}
	if next != "" {
		out.NextCursor = &next
	}
	return out, nil
}

// GetAgent implements getAgent.
func (s *Server) GetAgent(ctx context.Context, req api.GetAgentRequestObject) (api.GetAgentResponseObject, error) {
	a, err := s.market.Public(ctx, req.AgentId)
	if err != nil {
		return nil, err
	}
	return api.GetAgent200JSONResponse(s.toAPIPublicAgent(a)), nil
}

// CreateAgent implements createAgent.
func (s *Server) CreateAgent(ctx context.Context, req api.CreateAgentRequestObject) (api.CreateAgentResponseObject, error) {
	b := req.Body
	st := domain.Settings{
		Name: b.Name, Specialty: b.Specialty, Description: b.Description, Categories: fromAPICategories(b.Categories),
		Skills: deref(b.Skills), Plugins: deref(b.Plugins), Tiers: fromAPITiers(b.Tiers),
		PollingIntervalSeconds: b.PollingIntervalSeconds, AcceptMode: domain.AcceptMode(b.AcceptMode), AutoBands: fromAPIBands(b.AutoBands),
	}
	c, err := s.market.CreateAgent(ctx, principalFrom(ctx), b.Handle, st)
	if err != nil {
		return nil, err
	}
	return api.CreateAgent201JSONResponse{Agent: s.toAPIOwnerAgent(c.Agent), ApiKey: c.APIKey}, nil
}

// UpdateAgent implements updateAgent.
func (s *Server) UpdateAgent(ctx context.Context, req api.UpdateAgentRequestObject) (api.UpdateAgentResponseObject, error) {
	b := req.Body
	pt := marketplace.Patch{Name: b.Name, Specialty: b.Specialty, Description: b.Description, Skills: b.Skills,
		Plugins: b.Plugins, PollingIntervalSeconds: b.PollingIntervalSeconds}
	if b.Categories != nil {
		cs := fromAPICategories(*b.Categories)
		pt.Categories = &cs
	}
	if b.Tiers != nil {
		ts := fromAPITiers(*b.Tiers)
		pt.Tiers = &ts
	}
	if b.AcceptMode != nil {
		m := domain.AcceptMode(*b.AcceptMode)
		pt.AcceptMode = &m
	}
	if b.AutoBands != nil {
		bands := fromAPIBands(b.AutoBands)
		pt.AutoBands = &bands
	}
	a, err := s.market.UpdateAgent(ctx, principalFrom(ctx), req.AgentId, pt)
	if err != nil {
		return nil, err
	}
	return api.UpdateAgent200JSONResponse(s.toAPIOwnerAgent(a)), nil
}

// PublishAgent implements publishAgent.
func (s *Server) PublishAgent(ctx context.Context, req api.PublishAgentRequestObject) (api.PublishAgentResponseObject, error) {
	a, err := s.market.Publish(ctx, principalFrom(ctx), req.AgentId)
	if err != nil {
		return nil, err
	}
	return api.PublishAgent200JSONResponse(s.toAPIOwnerAgent(a)), nil
}

// PauseAgent implements pauseAgent.
func (s *Server) PauseAgent(ctx context.Context, req api.PauseAgentRequestObject) (api.PauseAgentResponseObject, error) {
	a, err := s.market.Pause(ctx, principalFrom(ctx), req.AgentId)
	if err != nil {
		return nil, err
	}
	return api.PauseAgent200JSONResponse(s.toAPIOwnerAgent(a)), nil
}

// RotateAgentKey implements rotateAgentKey.
func (s *Server) RotateAgentKey(ctx context.Context, req api.RotateAgentKeyRequestObject) (api.RotateAgentKeyResponseObject, error) {
	key, err := s.market.RotateKey(ctx, principalFrom(ctx), req.AgentId)
	if err != nil {
		return nil, err
	}
	return api.RotateAgentKey200JSONResponse{ApiKey: key, KeyPrefix: kernel.TokenDisplayPrefix(key, kernel.AgentKeyPrefix)}, nil
}

// ListAgentVersions implements listAgentVersions.
func (s *Server) ListAgentVersions(ctx context.Context, req api.ListAgentVersionsRequestObject) (api.ListAgentVersionsResponseObject, error) {
	vs, err := s.market.Versions(ctx, principalFrom(ctx), req.AgentId)
	if err != nil {
		return nil, err
	}
	out := api.ListAgentVersions200JSONResponse{Items: make([]api.AgentVersion, len(vs))}
	for i, v := range vs {
		st := v.Settings
		cats, tiers := toAPICategories(st.Categories), toAPITiers(st.Tiers)
		skills, plugins := nonNil(st.Skills), nonNil(st.Plugins)
		mode := api.UpdateAgentRequestAcceptMode(st.AcceptMode)
		out.Items[i] = api.AgentVersion{Version: v.Version, CreatedAt: v.CreatedAt, Settings: api.UpdateAgentRequest{
			Name: &st.Name, Specialty: &st.Specialty, Description: &st.Description, Categories: &cats, Skills: &skills,
			Plugins: &plugins, Tiers: &tiers, PollingIntervalSeconds: &st.PollingIntervalSeconds, AcceptMode: &mode,
			AutoBands: toAPIBands(st.AutoBands),
		}}
	}
	return out, nil
}

// ListMyAgents implements listMyAgents.
func (s *Server) ListMyAgents(ctx context.Context, _ api.ListMyAgentsRequestObject) (api.ListMyAgentsResponseObject, error) {
	as, err := s.market.Mine(ctx, principalFrom(ctx))
	if err != nil {
		return nil, err
	}
	out := api.ListMyAgents200JSONResponse{Items: make([]api.OwnerAgent, len(as))}
	for i, a := range as {
		out.Items[i] = s.toAPIOwnerAgent(a)
	}
	return out, nil
}

// GetAgentSelf implements getAgentSelf.
func (s *Server) GetAgentSelf(ctx context.Context, _ api.GetAgentSelfRequestObject) (api.GetAgentSelfResponseObject, error) {
	a, err := s.market.Self(ctx, principalFrom(ctx))
	if err != nil {
		return nil, err
	}
	return api.GetAgentSelf200JSONResponse{Id: a.ID, Handle: a.Handle, Name: a.Settings.Name, Status: api.AgentStatus(a.Status),
		SettingsVersion: a.SettingsVersion, PackageVersion: a.PackageVersion, PollingIntervalSeconds: a.Settings.PollingIntervalSeconds}, nil
}

// DownloadSkillPackage implements downloadSkillPackage.
func (s *Server) DownloadSkillPackage(ctx context.Context, req api.DownloadSkillPackageRequestObject) (api.DownloadSkillPackageResponseObject, error) {
	f, rec, handle, err := s.skills.Download(ctx, principalFrom(ctx), req.AgentId)
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf(`attachment; filename="%s-skill-v%d.zip"`, handle, rec.Version)
	return api.DownloadSkillPackage200ApplicationzipResponse{
		Body: f, ContentLength: rec.Size,
		Headers: api.DownloadSkillPackage200ResponseHeaders{
			ContentDisposition: &name, XSkillPackageVersion: &rec.Version, XSkillPackageSHA256: &rec.SHA256,
		},
	}, nil
}

// UploadAgentAvatar implements uploadAgentAvatar.
func (s *Server) UploadAgentAvatar(ctx context.Context, req api.UploadAgentAvatarRequestObject) (api.UploadAgentAvatarResponseObject, error) {
	a, err := s.market.SetAvatar(ctx, principalFrom(ctx), req.AgentId, req.Body)
	if err != nil {
		return nil, err
	}
	return api.UploadAgentAvatar200JSONResponse(s.toAPIOwnerAgent(a)), nil
}

// GetAgentAvatar implements getAgentAvatar.
func (s *Server) GetAgentAvatar(ctx context.Context, req api.GetAgentAvatarRequestObject) (api.GetAgentAvatarResponseObject, error) {
	f, contentType, _, err := s.market.Avatar(ctx, principalFrom(ctx), req.AgentId)
	if err != nil {
		return nil, err
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return api.GetAgentAvatar200ImageResponse{Body: f, ContentType: contentType, ContentLength: size}, nil
}

func avatarURL(a domain.Agent) *string {
	if a.AvatarKey == "" {
		return nil
	}
	return ptr("/v1/agents/" + a.ID + "/avatar")
}
