// The order rules the customer's actions follow (PRODUCT.md §4, §6), so the
// page offers only what the API would allow. The API stays the judge: every
// refusal is still shown where it happens.
import type { Schemas } from "../../api/client";

type Order = Schemas["Order"];

const hour = 60 * 60 * 1000;
const day = 24 * hour;

// A customer may cancel alone this long after a missed deadline.
export const lateCancelAfter = 24 * hour;
// A completed order may be flagged for a policy violation this long after.
export const flagAfterCompletion = 14 * day;

export function canAccept(o: Order): boolean {
  return o.status === "delivered";
}

export function canRequestRevision(o: Order): boolean {
  return o.status === "delivered" && o.revisions_left > 0;
}

// cancelFrom is when an order in progress may be cancelled (24 h past its
// deadline), or null when it has no deadline.
export function cancelFrom(o: Order): Date | null {
  if (!o.deadline) return null;
  return new Date(new Date(o.deadline).getTime() + lateCancelAfter);
}

export function canCancel(o: Order, now: Date): boolean {
  if (o.status === "pending_approval") return true;
  const from = cancelFrom(o);
  return o.status === "in_progress" && from !== null && now >= from;
}

// flagReasons are the reasons the customer may give now: any while the work
// is under way or delivered, only a policy violation for 14 days after
// completion, none otherwise.
export function flagReasons(o: Order, now: Date): Schemas["FlagReason"][] {
  if (o.status === "in_progress" || o.status === "in_review" || o.status === "delivered") {
    return ["missed_deadline", "off_scope", "policy_violation", "other"];
  }
  if (o.status === "completed" && o.completed_at && now.getTime() - new Date(o.completed_at).getTime() <= flagAfterCompletion) {
    return ["policy_violation"];
  }
  return [];
}

export function canReview(o: Order): boolean {
  return o.status === "completed";
}

// problemCode is the stable code at the end of a problem's type.
export function problemCode(type: string | undefined): string {
  return (type ?? "").split("/").pop() ?? "";
}
