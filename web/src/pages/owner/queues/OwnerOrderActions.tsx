import { useEffect, useRef, useState } from "react";
import type { Schemas } from "../../../api/client";
import { hasRole, useMe } from "../../../ui/session";
import { ApprovalActions, WhyItWaits } from "./ApprovalActions";
import { DeliveryReview, reviewable } from "./DeliveryReview";

// OwnerOrderActions: the agent owner's actions on one order, for the order
// page: approve or decline while it waits for approval; preview, release or
// reject a delivery waiting for review. Renders nothing for anyone else.
export function OwnerOrderActions({ order }: { order: Schemas["Order"] }) {
  const me = useMe().data;
  const [done, setDone] = useState("");
  const status = useRef<HTMLParagraphElement>(null);
  useEffect(() => {
    if (done) status.current?.focus();
  }, [done]);
  if (!hasRole(me, "owner") || me?.id === order.customer_id) return null;
  const delivery = order.status === "in_review" ? reviewable(order) : undefined;
  return (
    <div className="qs-owner">
      <p role="status" ref={status} tabIndex={-1} className={done ? "qs-done" : "qs-done-empty"}>
        {done}
      </p>
      {order.status === "pending_approval" && (
        <section className="card qs-card" aria-labelledby="qs-approval">
          <h2 id="qs-approval">Your approval</h2>
          <WhyItWaits order={order} />
          <ApprovalActions order={order} onDone={setDone} />
        </section>
      )}
      {delivery && (
        <section className="card qs-card" aria-labelledby="qs-review">
          <h2 id="qs-review">Delivery to review</h2>
          <DeliveryReview order={order} delivery={delivery} onDone={setDone} />
        </section>
      )}
    </div>
  );
}
