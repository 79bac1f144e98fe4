package sqlrec

import (
	"context"
	"testing"

	"github.com/uptrace/bun"
)

func TestShape(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"SELECT id FROM agents WHERE key_hash = $1":                   "SELECT id FROM agents WHERE key_hash = ?",
		"UPDATE w SET balance = balance - 100 WHERE id = 'a''b'":      "UPDATE w SET balance = balance - ? WHERE id = ?",
		"SELECT *\n\tFROM t WHERE rating >= 4.5 AND x = ?1 LIMIT 20 ": "SELECT * FROM t WHERE rating >= ? AND x = ? LIMIT ?",
		"SELECT t1.a FROM t1": "SELECT t1.a FROM t1",
	} {
		if got := Shape(in); got != want {
			t.Errorf("Shape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRecorder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	send := func(r *Recorder, qs ...string) {
		for _, q := range qs {
			r.AfterQuery(r.BeforeQuery(ctx, &bun.QueryEvent{Query: q}), &bun.QueryEvent{Query: q})
		}
	}
	r := &Recorder{SkipTx: true}
	send(r, "SELECT 1")
	r.Start()
	send(r, "BEGIN", "SELECT x FROM t WHERE id = 7", " commit ")
	if got := r.Stop(); len(got) != 1 || got[0] != "SELECT x FROM t WHERE id = ?" {
		t.Fatalf("recorded %q", got)
	}
	send(r, "SELECT 2")
	if got := r.Stop(); len(got) != 1 {
		t.Fatalf("recorded after Stop: %q", got)
	}
	raw := &Recorder{Raw: true}
	raw.Start()
	send(raw, "BEGIN", "SELECT 3")
	if got := raw.Stop(); len(got) != 2 || got[1] != "SELECT 3" {
		t.Fatalf("raw recorded %q", got)
	}
}
