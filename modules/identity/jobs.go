package identity

import "github.com/heepr/heepr/modules/kernel"

// UserSignedUpArgs is enqueued in the sign-up transaction; its worker sends the welcome email.
type UserSignedUpArgs struct {
	UserID kernel.UserID `json:"user_id"`
}

// Kind names the job.
func (UserSignedUpArgs) Kind() string { return "identity.user_signed_up" }

// PurgeSessionsArgs is the periodic job that deletes ended sessions.
type PurgeSessionsArgs struct{}

// Kind names the job.
func (PurgeSessionsArgs) Kind() string { return "identity.purge_sessions" }
