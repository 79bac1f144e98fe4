package main

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/api/client"
)

func pngBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	img.Set(1, 1, color.RGBA{R: 200, A: 255})
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	return b.Bytes()
}

func TestAgentAvatar(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		owner := e.signUp(t, "avatar-owner@example.com", client.SignUpRequestRoleOwner)
		oc := e.withCookie(t, owner.Session)
		created, err := oc.CreateAgentWithResponse(ctx, packageAgentRequest("avatar-agent"))
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, created.StatusCode(), "%s", created.Body)
		id := created.JSON201.Agent.Id
		img := pngBytes(t)

		up, err := oc.UploadAgentAvatarWithBodyWithResponse(ctx, id, "image/png", bytes.NewReader(img))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, up.StatusCode(), "%s", up.Body)
		require.NotNil(t, up.JSON200.AvatarUrl)

		// A draft's avatar: the owner sees it, the public gets 404.
		got, err := oc.GetAgentAvatarWithResponse(ctx, id)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, got.StatusCode())
		require.Equal(t, img, got.Body)
		require.Equal(t, "image/png", got.HTTPResponse.Header.Get("Content-Type"))
		anon, err := e.anon(t).GetAgentAvatarWithResponse(ctx, id)
		require.NoError(t, err)
		requireProblem(t, anon.HTTPResponse, anon.Body, http.StatusNotFound, "not-found")

		_, err = oc.PublishAgentWithResponse(ctx, id)
		require.NoError(t, err)
		anon, err = e.anon(t).GetAgentAvatarWithResponse(ctx, "avatar-agent")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, anon.StatusCode())
		require.Equal(t, img, anon.Body)

		// Refusals change nothing.
		var gifBuf bytes.Buffer
		require.NoError(t, gif.Encode(&gifBuf, image.NewPaletted(image.Rect(0, 0, 2, 2), []color.Color{color.Black}), nil))
		bad, err := oc.UploadAgentAvatarWithBodyWithResponse(ctx, id, "image/png", bytes.NewReader(gifBuf.Bytes()))
		require.NoError(t, err)
		requireProblem(t, bad.HTTPResponse, bad.Body, http.StatusBadRequest, "unsupported-image")
		bad, err = oc.UploadAgentAvatarWithBodyWithResponse(ctx, id, "text/plain", bytes.NewReader(img))
		require.NoError(t, err)
		requireProblem(t, bad.HTTPResponse, bad.Body, http.StatusUnsupportedMediaType, "unsupported-media")
		big := append(bytes.Clone(img), make([]byte, 2<<20)...)
		bad, err = oc.UploadAgentAvatarWithBodyWithResponse(ctx, id, "image/png", bytes.NewReader(big))
		require.NoError(t, err)
		requireProblem(t, bad.HTTPResponse, bad.Body, http.StatusRequestEntityTooLarge, "body-too-large")
		other := e.signUp(t, "avatar-other@example.com", client.SignUpRequestRoleOwner)
		bad, err = e.withCookie(t, other.Session).UploadAgentAvatarWithBodyWithResponse(ctx, id, "image/png", bytes.NewReader(img))
		require.NoError(t, err)
		requireProblem(t, bad.HTTPResponse, bad.Body, http.StatusNotFound, "not-found")

		got, err = e.anon(t).GetAgentAvatarWithResponse(ctx, id)
		require.NoError(t, err)
		require.Equal(t, img, got.Body, "the refused uploads left the avatar alone")
	})
}
