package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/api/client"
)

func packageAgentRequest(handle string) client.CreateAgentRequest {
	return client.CreateAgentRequest{
		Handle: handle, Name: "Report Writer", Specialty: "Markdown reports from a brief",
		Description: "I turn a brief into a clear report.", Categories: []client.Category{client.CategoryWriting},
		Tiers:                  []client.Tier{{Name: "Basic", Price: 50, DeliveryDays: 2, Revisions: 1}},
		PollingIntervalSeconds: 60, AcceptMode: client.CreateAgentRequestAcceptModeManual,
	}
}

// downloadPackage waits for the render job and returns the zip and its headers.
func downloadPackage(t *testing.T, c *client.ClientWithResponses, agentID string, minVersion int) ([]byte, http.Header) {
	t.Helper()
	var body []byte
	var hdr http.Header
	require.Eventually(t, func() bool {
		resp, err := c.DownloadSkillPackageWithResponse(context.Background(), agentID)
		require.NoError(t, err)
		if resp.StatusCode() != http.StatusOK {
			return false
		}
		v, _ := strconv.Atoi(resp.HTTPResponse.Header.Get("X-Skill-Package-Version"))
		body, hdr = resp.Body, resp.HTTPResponse.Header
		return v >= minVersion
	}, 20*time.Second, 25*time.Millisecond)
	return body, hdr
}

func TestSkillPackageRenderedAndVersioned(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		owner := e.signUp(t, "pkg-owner@example.com", client.SignUpRequestRoleOwner)
		oc := e.withCookie(t, owner.Session)
		created, err := oc.CreateAgentWithResponse(ctx, packageAgentRequest("report-writer"))
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, created.StatusCode(), "%s", created.Body)
		id, key := created.JSON201.Agent.Id, created.JSON201.ApiKey

		zipped, hdr := downloadPackage(t, oc, id, 1)
		require.Equal(t, "application/zip", hdr.Get("Content-Type"))
		require.Contains(t, hdr.Get("Content-Disposition"), `filename="report-writer-skill-v1.zip"`)
		sum := sha256.Sum256(zipped)
		require.Equal(t, hex.EncodeToString(sum[:]), hdr.Get("X-Skill-Package-SHA256"))

		zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
		require.NoError(t, err)
		files := map[string][]byte{}
		for _, f := range zr.File {
			rc, err := f.Open()
			require.NoError(t, err)
			b, err := io.ReadAll(rc)
			require.NoError(t, err)
			files[f.Name] = b
			require.NotContains(t, string(b), key, "%s holds the API key", f.Name)
		}
		for _, name := range []string{"SKILL.md", "RULES.md", "API.md", "HEARTBEAT_EVENTS.md", "skill.json"} {
			require.Contains(t, files, "report-writer/"+name)
		}
		require.Contains(t, string(files["report-writer/API.md"]), "getAgentSelf")
		var manifest struct {
			AgentID         string            `json:"agent_id"`
			Handle          string            `json:"handle"`
			SettingsVersion int               `json:"settings_version"`
			Files           map[string]string `json:"files"`
		}
		require.NoError(t, json.Unmarshal(files["report-writer/skill.json"], &manifest))
		require.Equal(t, id, manifest.AgentID)
		require.Equal(t, 1, manifest.SettingsVersion)
		require.Len(t, manifest.Files, 4)
		for name, want := range manifest.Files {
			got := sha256.Sum256(files["report-writer/"+strings.TrimPrefix(name, "report-writer/")])
			require.Equal(t, want, hex.EncodeToString(got[:]), "hash of %s", name)
		}

		// A settings change renders a new version with the new settings baked in.
		spec := "Markdown and PDF reports"
		upd, err := oc.UpdateAgentWithResponse(ctx, id, client.UpdateAgentRequest{Specialty: &spec})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, upd.StatusCode(), "%s", upd.Body)
		require.Equal(t, 2, upd.JSON200.SettingsVersion)
		zipped2, hdr2 := downloadPackage(t, oc, id, 2)
		require.Equal(t, "2", hdr2.Get("X-Skill-Package-Version"))
		require.NotEqual(t, hdr.Get("X-Skill-Package-SHA256"), hdr2.Get("X-Skill-Package-SHA256"))
		require.Contains(t, string(zipped2), "Markdown and PDF reports")

		mine, err := oc.ListMyAgentsWithResponse(ctx)
		require.NoError(t, err)
		require.Equal(t, 2, mine.JSON200.Items[0].PackageVersion)

		// Another owner cannot download it: 404, as for a missing agent.
		other := e.signUp(t, "pkg-other@example.com", client.SignUpRequestRoleOwner)
		resp, err := e.withCookie(t, other.Session).DownloadSkillPackageWithResponse(ctx, id)
		require.NoError(t, err)
		requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusNotFound, "not-found")
	})
}
