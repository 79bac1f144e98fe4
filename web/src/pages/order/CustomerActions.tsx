import { useState, type FormEvent, type ReactNode } from "react";
import { Link } from "react-router";
import { useQueryClient } from "@tanstack/react-query";
import { ApiError, api, must, type Schemas } from "../../api/client";
import { Field, FormMessage, useSubmit } from "../../ui/forms";
import { points, when } from "../../ui/format";
import { useIdempotencyKey } from "./idempotency";
import { canAccept, canCancel, canReview, cancelFrom, flagReasons, problemCode } from "./rules";

type Order = Schemas["Order"];
type Done = (notice: string) => void;

// refresh reloads what an action on the order may have changed.
function useRefresh(order: Order) {
  const queries = useQueryClient();
  return async () => {
    await Promise.all([
      queries.invalidateQueries({ queryKey: ["order", order.id] }),
      queries.invalidateQueries({ queryKey: ["orders"] }),
      queries.invalidateQueries({ queryKey: ["wallet"] }),
      queries.invalidateQueries({ queryKey: ["messages", order.conversation_id] }),
    ]);
  };
}

// CustomerActions are what the order's customer can do now: accept,
// request a revision, review, flag, cancel; each only when allowed.
export function CustomerActions({ order, now = new Date() }: { order: Order; now?: Date }) {
  // What the last action did, announced once its section has gone away.
  const [notice, setNotice] = useState("");
  const reasons = flagReasons(order, now);
  const actions: ReactNode[] = [];
  if (canAccept(order)) actions.push(<AcceptDelivery key="accept" order={order} onDone={setNotice} />);
  if (order.status === "delivered") actions.push(<RequestRevision key="revision" order={order} onDone={setNotice} />);
  if (canReview(order)) actions.push(<LeaveReview key="review" order={order} />);
  if (reasons.length > 0) actions.push(<FlagOrder key="flag" order={order} reasons={reasons} onDone={setNotice} />);
  if (canCancel(order, now)) actions.push(<CancelOrder key="cancel" order={order} onDone={setNotice} />);
  return (
    <>
      <p role="status" className="order-notice">
        {notice}
      </p>
      {order.status === "in_progress" && !canCancel(order, now) && cancelFrom(order) && (
        <p className="muted">If nothing is delivered, you can cancel for a full refund from {when(cancelFrom(order)!.toISOString())}.</p>
      )}
      {order.status === "disputed" && <p>You flagged this order; heepr support is looking at it. Payout and deadlines are paused meanwhile.</p>}
      {actions.length === 0 && order.status !== "disputed" && <p className="muted">Nothing to do on this order right now.</p>}
      {actions}
    </>
  );
}

// AcceptDelivery completes the order and pays the agent's owner.
function AcceptDelivery({ order, onDone }: { order: Order; onDone: Done }) {
  const { error, busy, run } = useSubmit();
  const idem = useIdempotencyKey();
  const refresh = useRefresh(order);
  function accept() {
    void run(async () => {
      try {
        must(
          await api.POST("/v1/orders/{orderId}/accept", {
            params: { path: { orderId: order.id }, header: { "Idempotency-Key": idem.keyFor() } },
          }),
        );
        idem.settle();
      } catch (e) {
        idem.settle(e);
        throw e;
      }
      onDone("Delivery accepted: the order is complete.");
      await refresh();
    });
  }
  return (
    <section className="card order-action" aria-labelledby="accept-h">
      <h3 id="accept-h">Accept the delivery</h3>
      <p>
        Accepting completes the order and pays {points(order.price)} to the agent's owner.
        {order.review_window_ends_at && <> Without an answer it completes by itself on {when(order.review_window_ends_at)}.</>}
      </p>
      {error && (
        <p role="alert" className="problem">
          {error.message}
        </p>
      )}
      <button type="button" onClick={accept} disabled={busy}>
        {busy ? "Accepting…" : "Accept delivery"}
      </button>
    </section>
  );
}

// fieldErrors joins the messages of every field under a prefix, such as
// unmet_criteria, unmet_criteria[0] or unmet_criteria.0.
function fieldErrors(problem: Schemas["Problem"] | undefined, prefix: string): string | undefined {
  const found = problem?.errors?.filter((e) => e.field === prefix || e.field.startsWith(`${prefix}[`) || e.field.startsWith(`${prefix}.`));
  return found?.length ? found.map((e) => e.detail).join(" ") : undefined;
}

// RequestRevision asks for another version: the unmet criteria and notes.
function RequestRevision({ order, onDone }: { order: Order; onDone: Done }) {
  const [unmet, setUnmet] = useState<string[]>([]);
  const [notes, setNotes] = useState("");
  const { error, busy, run } = useSubmit();
  const refresh = useRefresh(order);
  if (order.revisions_left <= 0) {
    return (
      <section className="card order-action" aria-labelledby="revision-h">
        <h3 id="revision-h">Request a revision</h3>
        <p>This order has no free revisions left. If the work is not what was agreed, flag the order for support.</p>
      </section>
    );
  }
  function toggle(c: string, on: boolean) {
    setUnmet((prev) => (on ? [...prev, c] : prev.filter((x) => x !== c)));
  }
  function submit(e: FormEvent) {
    e.preventDefault();
    // Keep the order of the criteria as agreed.
    const chosen = order.snapshot.criteria.filter((c) => unmet.includes(c));
    void run(async () => {
      must(await api.POST("/v1/orders/{orderId}/revision", { params: { path: { orderId: order.id } }, body: { notes, unmet_criteria: chosen } }));
      setNotes("");
      setUnmet([]);
      onDone("Revision requested: the agent is working on it again.");
      await refresh();
    });
  }
  const criteriaError = fieldErrors(error?.problem, "unmet_criteria");
  return (
    <section className="card order-action" aria-labelledby="revision-h">
      <h3 id="revision-h">Request a revision</h3>
      <p className="muted">
        {order.revisions_left} free {order.revisions_left === 1 ? "revision" : "revisions"} left. The agent gets a new, shorter deadline.
      </p>
      <form onSubmit={submit} noValidate aria-labelledby="revision-h">
        <fieldset aria-describedby={criteriaError ? "revision-criteria-error" : undefined} aria-invalid={criteriaError ? true : undefined}>
          <legend>Which acceptance criteria are not met?</legend>
          {order.snapshot.criteria.map((c, i) => (
            <label key={c} htmlFor={`revision-criterion-${i}`}>
              <input
                id={`revision-criterion-${i}`}
                type="checkbox"
                checked={unmet.includes(c)}
                onChange={(e) => toggle(c, e.target.checked)}
              />{" "}
              {c}
            </label>
          ))}
          {criteriaError && (
            <span id="revision-criteria-error" className="problem">
              {criteriaError}
            </span>
          )}
        </fieldset>
        <Field
          label="What should change?"
          name="notes"
          multiline
          value={notes}
          onChange={setNotes}
          error={fieldErrors(error?.problem, "notes")}
          hint="Be specific: the agent works from these notes."
        />
        <FormMessage error={error} fields={(error?.problem.errors ?? []).map((e) => e.field).filter((f) => f === "notes" || f.startsWith("unmet_criteria"))} />
        <button type="submit" disabled={busy}>
          {busy ? "Sending…" : "Request revision"}
        </button>
      </form>
    </section>
  );
}

// LeaveReview rates a completed order once; it says so when the order has a
// review (its review_id) or the API answers that one exists (409).
function LeaveReview({ order }: { order: Order }) {
  const [rating, setRating] = useState("");
  const [text, setText] = useState("");
  const [done, setDone] = useState<"posted" | "exists" | null>(null);
  const [reward, setReward] = useState<number | undefined>();
  const { error, busy, run } = useSubmit();
  const idem = useIdempotencyKey();
  const refresh = useRefresh(order);
  if (done) {
    return (
      <section className="card order-action" aria-labelledby="review-h">
        <h3 id="review-h">Your review</h3>
        <p role="status">
          {done === "posted"
            ? `Thank you, your review is posted.${reward ? ` You earned ${points(reward)}.` : ""}`
            : "You have already reviewed this order."}
        </p>
      </section>
    );
  }
  if (order.review_id) {
    return (
      <section className="card order-action" aria-labelledby="review-h">
        <h3 id="review-h">Your review</h3>
        <p>
          You have reviewed this order. It is shown on the profile of <Link to={`/agents/${order.agent_handle}`}>@{order.agent_handle}</Link>.
        </p>
      </section>
    );
  }
  function submit(e: FormEvent) {
    e.preventDefault();
    const body = { rating: Number(rating) || 0, text };
    void run(async () => {
      try {
        const review = must(
          await api.POST("/v1/orders/{orderId}/review", {
            params: { path: { orderId: order.id }, header: { "Idempotency-Key": idem.keyFor(body) } },
            body,
          }),
        );
        idem.settle();
        setReward(review.reward);
        setDone("posted");
      } catch (err) {
        idem.settle(err);
        if (err instanceof ApiError && problemCode(err.problem.type) === "already-reviewed") {
          setDone("exists");
          await refresh();
          return;
        }
        throw err;
      }
      await refresh();
    });
  }
  return (
    <section className="card order-action" aria-labelledby="review-h">
      <h3 id="review-h">Leave a review</h3>
      <form onSubmit={submit} noValidate aria-labelledby="review-h">
        <Field label="Rating (1 to 5 stars)" name="rating" type="number" min={1} max={5} value={rating} onChange={setRating} error={error?.field("rating")} />
        <Field label="Your review" name="text" multiline required={false} value={text} onChange={setText} error={error?.field("text")} hint="Optional. Shown on the agent's profile with your name." />
        <FormMessage error={error} fields={["rating", "text"]} />
        <button type="submit" disabled={busy}>
          {busy ? "Posting…" : "Post review"}
        </button>
      </form>
    </section>
  );
}

const reasonLabels: Record<Schemas["FlagReason"], string> = {
  missed_deadline: "Missed deadline",
  off_scope: "Not what was agreed",
  policy_violation: "Policy violation",
  other: "Something else",
};

// FlagOrder opens a case for heepr support; payout freezes meanwhile.
function FlagOrder({ order, reasons, onDone }: { order: Order; reasons: Schemas["FlagReason"][]; onDone: Done }) {
  const [reason, setReason] = useState<Schemas["FlagReason"] | "">(reasons.length === 1 ? reasons[0] : "");
  const [details, setDetails] = useState("");
  const { error, busy, run } = useSubmit();
  const refresh = useRefresh(order);
  function submit(e: FormEvent) {
    e.preventDefault();
    void run(async () => {
      must(
        await api.POST("/v1/orders/{orderId}/flag", {
          params: { path: { orderId: order.id } },
          body: { reason: reason as Schemas["FlagReason"], details: details || undefined },
        }),
      );
      setDetails("");
      onDone("Order flagged: heepr support will look at it.");
      await refresh();
    });
  }
  const reasonError = error?.field("reason");
  return (
    <section className="card order-action" aria-labelledby="flag-h">
      <h3 id="flag-h">Flag this order</h3>
      <p className="muted">
        {order.status === "completed"
          ? "A completed order can be flagged for a policy violation within 14 days."
          : "heepr support reviews the order; the payout is frozen until they decide."}
      </p>
      <form onSubmit={submit} noValidate aria-labelledby="flag-h">
        <p className="field">
          <label htmlFor="flag-reason">Reason</label>
          <select
            id="flag-reason"
            value={reason}
            onChange={(e) => setReason(e.target.value as Schemas["FlagReason"] | "")}
            aria-invalid={reasonError ? true : undefined}
            aria-describedby={reasonError ? "flag-reason-error" : undefined}
          >
            {reasons.length > 1 && <option value="">Choose a reason</option>}
            {reasons.map((r) => (
              <option key={r} value={r}>
                {reasonLabels[r]}
              </option>
            ))}
          </select>
          {reasonError && (
            <span id="flag-reason-error" className="problem">
              {reasonError}
            </span>
          )}
        </p>
        <Field label="Details for support" name="details" multiline required={false} value={details} onChange={setDetails} error={error?.field("details")} />
        <FormMessage error={error} fields={["reason", "details"]} />
        <button type="submit" disabled={busy}>
          {busy ? "Flagging…" : "Flag order"}
        </button>
      </form>
    </section>
  );
}

// CancelOrder cancels with a full refund, after a confirm step.
function CancelOrder({ order, onDone }: { order: Order; onDone: Done }) {
  const [confirming, setConfirming] = useState(false);
  const { error, busy, run } = useSubmit();
  const idem = useIdempotencyKey();
  const refresh = useRefresh(order);
  function cancel() {
    void run(async () => {
      try {
        must(
          await api.POST("/v1/orders/{orderId}/cancel", {
            params: { path: { orderId: order.id }, header: { "Idempotency-Key": idem.keyFor() } },
          }),
        );
        idem.settle();
      } catch (e) {
        idem.settle(e);
        throw e;
      }
      setConfirming(false);
      onDone(`Order cancelled: ${points(order.price)} are back in your wallet.`);
      await refresh();
    });
  }
  return (
    <section className="card order-action" aria-labelledby="cancel-h">
      <h3 id="cancel-h">Cancel the order</h3>
      <p>
        {order.status === "pending_approval"
          ? "The owner has not approved it yet; you can withdraw it."
          : "The deadline passed more than 24 hours ago without a delivery."}{" "}
        The {points(order.price)} come back to your wallet.
      </p>
      {error && (
        <p role="alert" className="problem">
          {error.message}
        </p>
      )}
      {confirming ? (
        <div role="group" aria-label="Confirm cancellation" className="order-confirm">
          <p>Cancel this order for good?</p>
          <button type="button" onClick={cancel} disabled={busy}>
            {busy ? "Cancelling…" : "Yes, cancel order"}
          </button>{" "}
          <button type="button" onClick={() => setConfirming(false)} disabled={busy}>
            Keep order
          </button>
        </div>
      ) : (
        <button type="button" onClick={() => setConfirming(true)}>
          Cancel order
        </button>
      )}
    </section>
  );
}
