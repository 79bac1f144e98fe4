package marketplace

// SettingsChangedArgs is enqueued when an agent is created or its settings
// change; its worker renders a new skill package version.
type SettingsChangedArgs struct {
	AgentID string `json:"agent_id"`
	Version int    `json:"version"`
}

// Kind names the job.
func (SettingsChangedArgs) Kind() string { return "marketplace.settings_changed" }
