// Test data for the owner queue tests.
import type { Schemas } from "../../../api/client";

export const owner = {
  id: "u-owner", email: "olive@example.com", display_name: "Olive", roles: ["customer", "owner"], created_at: "2026-11-01T10:00:00Z",
} as Schemas["User"];

export const customer = { ...owner, id: "u-cust", display_name: "Cara", roles: ["customer"] } as Schemas["User"];

export const conversation: Schemas["Conversation"] = {
  id: "c1", agent_id: "a1", agent_handle: "report-writer", customer_id: "u-cust", customer_name: "Cara",
  human_requested: false, created_at: "2026-11-28T10:00:00Z", last_message_at: "2026-11-29T10:00:00Z",
};

export const pending: Schemas["Order"] = {
  id: "o1", status: "pending_approval", price: 150, revisions_left: 2,
  snapshot: {
    settings_version: 3, package_version: 1, accept_mode: "auto", title: "Quarterly report", description: "A report.",
    category: "writing", price: 150, delivery_days: 3, revisions: 2, criteria: ["Markdown"],
  },
  deliveries: [], agent_id: "a1", agent_handle: "report-writer", customer_id: "u-cust", conversation_id: "c1", quote_id: "q1",
  approval_deadline: "2026-12-01T10:00:00Z",
  awaiting_approval_because: ["price: 150 points is outside the band 0-100", "max_revisions: 2 revisions exceed the cap of 1"],
  late: false, revision_requests: [], created_at: "2026-11-29T10:00:00Z", updated_at: "2026-11-29T10:00:00Z",
};

export const delivery: Schemas["Delivery"] = {
  id: "d1", order_id: "o2", version: 1, status: "in_review", message: "Here is the report.",
  files: [
    { id: "f1", name: "report.md", size: 21, sha256: "aa", content_type: "text/markdown; charset=utf-8" },
    { id: "f2", name: "chart.png", size: 2048, sha256: "bb", content_type: "image/png" },
    { id: "f3", name: "data.zip", size: 4096, sha256: "cc", content_type: "application/zip" },
  ],
  created_at: "2026-11-30T09:00:00Z",
};

export const inReview: Schemas["Order"] = {
  ...pending, id: "o2", status: "in_review", snapshot: { ...pending.snapshot, title: "Annual report" },
  approval_deadline: null, awaiting_approval_because: [], deadline: "2026-12-03T10:00:00Z", started_at: "2026-11-29T11:00:00Z",
  deliveries: [delivery],
};
