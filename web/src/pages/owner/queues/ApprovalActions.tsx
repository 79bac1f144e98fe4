import { useState, type FormEvent } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, must, type Schemas } from "../../../api/client";
import { Field, FormMessage, asApiError } from "../../../ui/forms";
import { points, when } from "../../../ui/format";
import { reasonParts, refreshOrders, useIdempotencyKey } from "./shared";

type Order = Schemas["Order"];

// WhyItWaits lists why an order waits for the owner (awaiting_approval_because).
export function WhyItWaits({ order, deadline = true }: { order: Order; deadline?: boolean }) {
  const reasons = order.awaiting_approval_because ?? [];
  return (
    <div className="qs-why">
      <p>
        <strong>Why it waits for you</strong>
        {deadline && order.approval_deadline && <> (approve by {when(order.approval_deadline)}, or it expires and the customer is refunded)</>}
      </p>
      {reasons.length ? (
        <ul>
          {reasons.map((r) => {
            const { band, text } = reasonParts(r);
            return (
              <li key={r}>
                {band && <span className="qs-band">{band}:</span>} {text}
              </li>
            );
          })}
        </ul>
      ) : (
        <p className="muted">No reason given.</p>
      )}
    </div>
  );
}

// ApprovalActions is the owner's Approve button and Decline form (with an
// optional reason told to the customer) for an order waiting for approval.
export function ApprovalActions({ order, onDone }: { order: Order; onDone: (message: string) => void }) {
  const queries = useQueryClient();
  const approveKey = useIdempotencyKey();
  const declineKey = useIdempotencyKey();
  const [reason, setReason] = useState("");
  const approve = useMutation({
    mutationFn: async () =>
      must(
        await api.POST("/v1/orders/{orderId}/approve", {
          params: { path: { orderId: order.id }, header: { "Idempotency-Key": approveKey() } },
        }),
      ),
    onSuccess: async (o) => {
      onDone(`Approved “${order.snapshot.title}”: the agent has started${o.deadline ? `; deadline ${when(o.deadline)}` : ""}.`);
      await refreshOrders(queries);
    },
  });
  const decline = useMutation({
    mutationFn: async (text: string) => {
      const body = text ? { reason: text } : {};
      return must(
        await api.POST("/v1/orders/{orderId}/decline", {
          params: { path: { orderId: order.id }, header: { "Idempotency-Key": declineKey(body) } },
          body,
        }),
      );
    },
    onSuccess: async () => {
      onDone(`Declined “${order.snapshot.title}”: the customer gets their ${points(order.price)} back.`);
      await refreshOrders(queries);
    },
  });
  const busy = approve.isPending || decline.isPending;
  const declineError = decline.error ? asApiError(decline.error) : null;
  function submitDecline(e: FormEvent) {
    e.preventDefault();
    decline.mutate(reason.trim());
  }
  return (
    <div className="qs-actions">
      <div>
        <button type="button" className="qs-primary" onClick={() => approve.mutate()} disabled={busy}>
          Approve
        </button>
        {approve.error && (
          <p role="alert" className="problem">
            {asApiError(approve.error).message}
          </p>
        )}
      </div>
      <form onSubmit={submitDecline} noValidate className="qs-decline">
        <Field
          label="Reason for declining"
          name={`reason-${order.id}`}
          value={reason}
          onChange={setReason}
          multiline
          rows={2}
          required={false}
          hint="Optional. The customer sees it."
          error={declineError?.field("reason")}
        />
        <FormMessage error={declineError} fields={["reason"]} />
        <button type="submit" disabled={busy}>
          Decline
        </button>
      </form>
    </div>
  );
}
