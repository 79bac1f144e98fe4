package events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/adapters/store/storetest"
	"github.com/heepr/heepr/bench/internal/sqlrec"
)

// TestBaselineMatchesHeepr keeps the baseline honest: on both databases
// and for both feed states, the statements heepr's poll sends over HTTP
// (seen through a bun query hook, after a first poll has cached the
// agent's polling interval) equal the baseline's, in order, once values
// and placeholders are blanked, and both find nothing new. When the store's
// SQL or the poll's sequence changes, change the baseline with it.
func TestBaselineMatchesHeepr(t *testing.T) {
	t.Parallel()
	for _, tg := range storetest.Targets(t) {
		t.Run(string(tg.Dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := openEnv(t, tg.Config, pollers)
			e.app.cacheFeeds(false) // the database path: the statements are the point
			rec := &sqlrec.Recorder{}
			e.db.Bun.AddQueryHook(rec)
			for _, kind := range []feedKind{kindAcked, kindLeased} {
				t.Run(string(kind), func(t *testing.T) {
					e.warm(t, kind)
					f := e.fixtures[kind][0]

					rec.Start()
					var buf bytes.Buffer
					require.NoError(t, e.heepr(e.pollRequest(t, f, 0), &buf))
					heepr := rec.Stop()
					var page struct {
						Items      []json.RawMessage `json:"items"`
						NextCursor string            `json:"next_cursor"`
						PollAfter  int               `json:"poll_after_seconds"`
					}
					require.NoError(t, json.Unmarshal(buf.Bytes(), &page))
					require.Empty(t, page.Items)
					require.Equal(t, f.cursor(), page.NextCursor)
					require.Equal(t, 60, page.PollAfter, "the agent's cadence")

					heeprBody := buf.String()

					// The bare HTTP reference answers the same.
					req := e.pollRequest(t, f, 0)
					req.URL.Host = e.bareHost
					require.NoError(t, e.heepr(req, &buf))
					bareBody := buf.String()

					// Through the benchmark's own client, pollConn, twice on
					// one connection, both answer what Go's client read.
					for host, want := range map[string]string{"": heeprBody, e.bareHost: bareBody} {
						req := e.pollRequest(t, f, 0)
						if host != "" {
							req.URL.Host = host
						}
						c, err := dialPoll(req)
						require.NoError(t, err)
						for range 2 {
							var got bytes.Buffer
							status, err := c.do(&got)
							require.NoError(t, checkEmpty(status, got.Bytes(), err))
							require.Equal(t, want, got.String())
						}
						require.NoError(t, c.Close())
					}

					var base []string
					require.NoError(t, basePoll(ctx, recQuerier{e.raw, &base}, f))
					want := 2 // the key, the feed
					if kind == kindLeased {
						want = 3 // and the events query
					}
					require.Len(t, base, want)
					if tg.Dialect == store.SQLite {
						// Every heepr statement goes through bun here, so the
						// hook sees them all. (On Postgres the key and feed
						// reads go to pgx directly, past bun's hooks; the
						// baseline uses the store's own SQL constants.)
						require.Equal(t, heepr, base)
					}
				})
			}
		})
	}
}

// recQuerier records the baseline's statements (shaped).
type recQuerier struct {
	querier
	got *[]string
}

func (r recQuerier) row(ctx context.Context, q string, args, dest []any) (bool, error) {
	*r.got = append(*r.got, sqlrec.Shape(q))
	return r.querier.row(ctx, q, args, dest)
}

func (r recQuerier) rows(ctx context.Context, q string, args []any, each func(func(...any) error) error) (int, error) {
	*r.got = append(*r.got, sqlrec.Shape(q))
	return r.querier.rows(ctx, q, args, each)
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i))
	}
	require.Equal(t, time.Duration(50), percentile(d, 50))
	require.Equal(t, time.Duration(99), percentile(d, 99))
	require.Equal(t, time.Duration(100), percentile(d, 100))
	require.Equal(t, time.Duration(7), percentile([]time.Duration{9, 7, 3}, 50))
}
