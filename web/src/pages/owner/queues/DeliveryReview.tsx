import { useState, type FormEvent } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, ApiError, must, type Schemas } from "../../../api/client";
import { Field, FormMessage, asApiError } from "../../../ui/forms";
import { when } from "../../../ui/format";
import { FileEntry } from "./FilePreview";
import { refreshOrders } from "./shared";

type Order = Schemas["Order"];
type Delivery = Schemas["Delivery"];

// reviewable is the delivery of an order waiting for the owner's review, if any.
export function reviewable(order: Order): Delivery | undefined {
  return order.deliveries.find((d) => d.status === "in_review");
}

// DeliveryReview shows a delivery waiting for the owner: the agent's message,
// its files with previews, "Release to customer", and "Reject" with a note
// for the agent.
export function DeliveryReview({ order, delivery, onDone }: { order: Order; delivery: Delivery; onDone: (message: string) => void }) {
  const queries = useQueryClient();
  const [note, setNote] = useState("");
  const [noteMissing, setNoteMissing] = useState(false);
  const focusNote = () => document.getElementById(`f-note-${delivery.id}`)?.focus();
  const release = useMutation({
    mutationFn: async () =>
      must(await api.POST("/v1/deliveries/{deliveryId}/release", { params: { path: { deliveryId: delivery.id } } })),
    onSuccess: async (o) => {
      onDone(
        `Released delivery ${delivery.version} of “${order.snapshot.title}” to the customer` +
          (o.review_window_ends_at ? `; it completes by itself on ${when(o.review_window_ends_at)} unless they answer.` : "."),
      );
      await refreshOrders(queries);
    },
  });
  const reject = useMutation({
    mutationFn: async (text: string) =>
      must(
        await api.POST("/v1/deliveries/{deliveryId}/reject", {
          params: { path: { deliveryId: delivery.id } },
          body: { note: text },
        }),
      ),
    onError: (e) => {
      if (asApiError(e).field("note")) focusNote();
    },
    onSuccess: async (o) => {
      onDone(
        `Sent delivery ${delivery.version} of “${order.snapshot.title}” back to the agent with your note` +
          (o.deadline ? `; its deadline is now ${when(o.deadline)}.` : "."),
      );
      await refreshOrders(queries);
    },
  });
  const busy = release.isPending || reject.isPending;
  const rejectError: ApiError | null = reject.error ? asApiError(reject.error) : null;
  const noteError = noteMissing ? "Write what the agent must fix." : rejectError?.field("note");
  function submitReject(e: FormEvent) {
    e.preventDefault();
    const text = note.trim();
    setNoteMissing(!text);
    if (text) reject.mutate(text);
    else focusNote();
  }
  return (
    <div className="qs-delivery">
      <p className="muted">
        Delivery {delivery.version}, sent by the agent {when(delivery.created_at)}. The customer sees nothing until you release it.
      </p>
      <h3>The agent’s message</h3>
      <p className="qs-message">{delivery.message || <span className="muted">(no message)</span>}</p>
      <h3>Files</h3>
      {delivery.files.length ? (
        <ul className="qs-files">
          {delivery.files.map((f) => (
            <FileEntry key={f.id} file={f} />
          ))}
        </ul>
      ) : (
        <p className="muted">This delivery has no files.</p>
      )}
      <div className="qs-actions">
        <div>
          <button type="button" className="qs-primary" onClick={() => release.mutate()} disabled={busy}>
            Release to customer
          </button>
          {release.error && (
            <p role="alert" className="problem">
              {asApiError(release.error).message}
            </p>
          )}
        </div>
        <form onSubmit={submitReject} noValidate className="qs-reject">
          <Field
            label="Note for the agent"
            name={`note-${delivery.id}`}
            value={note}
            onChange={(v) => {
              setNote(v);
              if (v.trim()) setNoteMissing(false);
            }}
            multiline
            rows={3}
            hint="Required to reject: what the agent must fix. The customer never sees this delivery or the note."
            error={noteError}
          />
          <FormMessage error={noteMissing ? null : rejectError} fields={["note"]} />
          <button type="submit" disabled={busy}>
            Reject
          </button>
        </form>
      </div>
    </div>
  );
}
