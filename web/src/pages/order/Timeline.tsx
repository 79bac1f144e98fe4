import type { ReactNode } from "react";
import type { Schemas } from "../../api/client";
import { points, when } from "../../ui/format";

type Order = Schemas["Order"];

export type Step = { key: string; at: string | null; title: string; detail?: ReactNode };

const cancelled: Record<NonNullable<Order["cancel_reason"]>, string> = {
  declined: "Cancelled: the owner declined the order; the points were refunded",
  expired: "Cancelled: the owner did not approve it in time; the points were refunded",
  withdrawn: "Cancelled by the customer before approval; the points were refunded",
  late: "Cancelled by the customer after the missed deadline; the points were refunded",
};

const deliveryStatus: Record<Schemas["Delivery"]["status"], string> = {
  in_review: "waiting for the owner's review",
  released: "released to the customer",
  rejected: "sent back to the agent by the owner",
};

// timeline lists what happened to an order, oldest first, from its
// timestamps and records; steps with no time (what it waits for now) last.
export function timeline(o: Order): Step[] {
  const steps: Step[] = [{ key: "placed", at: o.created_at, title: "Order placed", detail: `${points(o.price)} held for the agent` }];
  if (o.status === "pending_approval") {
    steps.push({
      key: "awaiting",
      at: null,
      title: "Waiting for the owner's approval",
      detail: o.approval_deadline ? `Cancelled and refunded if not approved by ${when(o.approval_deadline)}` : undefined,
    });
  }
  if (o.started_at) {
    const waited = new Date(o.started_at).getTime() - new Date(o.created_at).getTime() > 60_000;
    steps.push({ key: "started", at: o.started_at, title: waited ? "Approved by the owner; work started" : "Work started" });
  }
  for (const d of o.deliveries) {
    steps.push({ key: `delivery-${d.id}`, at: d.created_at, title: `Delivery ${d.version} submitted`, detail: `Status: ${deliveryStatus[d.status]}` });
    if (d.reviewed_at && d.status !== "in_review") {
      steps.push({
        key: `reviewed-${d.id}`,
        at: d.reviewed_at,
        title: d.status === "released" ? `Delivery ${d.version} released to the customer` : `Delivery ${d.version} sent back to the agent`,
      });
    }
  }
  for (const r of o.revision_requests) {
    steps.push({
      key: `revision-${r.number}`,
      at: r.requested_at,
      title: `Revision ${r.number} requested`,
      detail: (
        <>
          Unmet: {r.unmet_criteria.join("; ")}. Notes: {r.notes}
        </>
      ),
    });
  }
  if (o.late && o.deadline) steps.push({ key: "late", at: o.deadline, title: "Deadline missed" });
  if (o.delivered_at) {
    // The release of the latest delivery is the delivery itself: one step.
    const window = o.status === "delivered" && o.review_window_ends_at ? `Completes by itself on ${when(o.review_window_ends_at)}` : undefined;
    const release = steps.find((s) => s.key.startsWith("reviewed-") && s.at && Date.parse(s.at) === Date.parse(o.delivered_at!));
    if (release) release.detail = window;
    else steps.push({ key: "delivered", at: o.delivered_at, title: "Delivered", detail: window });
  }
  if (o.completed_at) steps.push({ key: "completed", at: o.completed_at, title: "Completed" });
  if (o.disputed_at) steps.push({ key: "disputed", at: o.disputed_at, title: "Flagged for support", detail: "Payout and clocks are paused until support decides" });
  if (o.status === "cancelled") {
    steps.push({ key: "cancelled", at: o.updated_at, title: o.cancel_reason ? cancelled[o.cancel_reason] : "Cancelled" });
  }
  if (o.refunded_points != null) {
    steps.push({ key: "refunded", at: o.updated_at, title: `Refunded ${points(o.refunded_points)} by support` });
  }
  const timed = steps.filter((s) => s.at).sort((a, b) => Date.parse(a.at!) - Date.parse(b.at!));
  return [...timed, ...steps.filter((s) => !s.at)];
}

// Timeline is the order's history as an ordered list.
export function Timeline({ order }: { order: Order }) {
  return (
    <ol className="order-timeline">
      {timeline(order).map((s) => (
        <li key={s.key}>
          {s.at ? <time dateTime={s.at}>{when(s.at)}</time> : <span className="muted">Now</span>}
          <strong>{s.title}</strong>
          {s.detail && <span className="muted">{s.detail}</span>}
        </li>
      ))}
    </ol>
  );
}
