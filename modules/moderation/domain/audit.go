// Package domain holds moderation's rules. Today: the audit log's entries
// and their hash chain.
package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/heepr/heepr/modules/kernel"
)

// Entry is one line of the audit log: who did what to what, when and why.
// Entries are numbered from 1 and chained: each Hash covers the entry and
// the hash before it, so changing, removing or reordering any entry breaks
// every hash after it.
type Entry struct {
	Seq      int64
	At       time.Time
	Actor    string // "user:<id>", "agent:<id>" or "system"
	Action   string // "identity.role_enabled", "marketplace.key_rotated", ...
	Target   string // "user:<id>", "agent:<id>", "order:<id>", ...
	Reason   string
	PrevHash string
	Hash     string
}

// Genesis is the hash before the first entry.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// HashOf computes an entry's hash from its fields and PrevHash. Fields are
// length-prefixed, so no choice of values can make two entries hash alike.
func HashOf(e Entry) string {
	h := sha256.New()
	for _, f := range []string{fmt.Sprint(e.Seq), e.At.UTC().Format(time.RFC3339Nano), e.Actor, e.Action, e.Target, e.Reason, e.PrevHash} {
		fmt.Fprintf(h, "%d:%s\n", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Validate checks a new entry's fields.
func (e Entry) Validate() error {
	var f kernel.Fields
	if e.Actor == "" {
		f.Add("actor", "is required")
	}
	if e.Action == "" || strings.ContainsAny(e.Action, " \n") {
		f.Add("action", "is required, one word such as identity.role_enabled")
	}
	if e.Target == "" {
		f.Add("target", "is required")
	}
	if len(e.Reason) > 5000 {
		f.Add("reason", "must be at most 5000 characters")
	}
	return f.Err()
}

// Next builds the entry that follows head (the last entry; zero for none).
func Next(head Entry, e Entry) Entry {
	e.Seq = head.Seq + 1
	e.PrevHash = head.Hash
	if head.Seq == 0 {
		e.PrevHash = Genesis
	}
	e.Hash = HashOf(e)
	return e
}

// Check walks entries in order and returns the seq of the first one that
// does not belong to an unbroken chain from Genesis (0 when all do): a
// gap in the numbering, a wrong link to the previous hash, or a hash that
// does not match the entry.
func Check(entries []Entry, prev Entry) int64 {
	for _, e := range entries {
		want := Genesis
		if prev.Seq > 0 {
			want = prev.Hash
		}
		if e.Seq != prev.Seq+1 || e.PrevHash != want || e.Hash != HashOf(e) {
			return e.Seq
		}
		prev = e
	}
	return 0
}
