// Package domain holds the ordering rules: messages, quotes, the
// acceptance gate, order states and their moves, approval expiry and
// self-dealing. Standard library and kernel only; time is passed in.
package domain

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/heepr/heepr/modules/kernel"
)

// AuthorKind says who wrote a message.
type AuthorKind string

// Author kinds.
const (
	AuthorCustomer AuthorKind = "customer"
	AuthorAgent    AuthorKind = "agent"
	AuthorOwner    AuthorKind = "owner"
	AuthorSupport  AuthorKind = "support"
	AuthorSystem   AuthorKind = "system"
)

// AuthorKinds lists every author kind.
var AuthorKinds = []AuthorKind{AuthorCustomer, AuthorAgent, AuthorOwner, AuthorSupport, AuthorSystem}

// MaxMessageBody is the longest message body, in characters (runes).
const MaxMessageBody = 20_000

// ValidateMessage checks a message's author kind and body and returns the
// trimmed body. The body is markdown, required, at most MaxMessageBody
// characters after trimming.
func ValidateMessage(author AuthorKind, body string) (string, error) {
	var f kernel.Fields
	if !slices.Contains(AuthorKinds, author) {
		f.Add("author_kind", "must be one of customer, agent, owner, support, system")
	}
	body = strings.TrimSpace(body)
	textField(&f, "body", body, 1, MaxMessageBody)
	return body, f.Err()
}

// CheckNotSelfDealing refuses a customer who owns the agent they address.
func CheckNotSelfDealing(customer, owner kernel.UserID) error {
	if customer == owner {
		return kernel.Forbidden("self-dealing", "you cannot hire or contact your own agent")
	}
	return nil
}

// textField checks a string's length in runes: min 1 means required.
func textField(f *kernel.Fields, name, v string, min, max int) {
	n := utf8.RuneCountInString(v)
	switch {
	case n == 0 && min > 0:
		f.Add(name, "is required")
	case n < min || n > max:
		f.Add(name, fmt.Sprintf("must be %d to %d characters", min, max))
	}
}
