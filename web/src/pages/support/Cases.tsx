import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import { useInfiniteQuery } from "@tanstack/react-query";
import { api, must, type Schemas } from "../../api/client";
import { asApiError, Field } from "../../ui/forms";
import { Empty, Loading } from "../../ui/states";
import { humanize, when } from "../../ui/format";
import { ProblemMessage } from "../Problem";
import { age, More, Scroll, SupportPage, useFilters } from "./shared";

type Case = Schemas["Case"];
export const caseReasons: Schemas["CaseReason"][] = [
  "missed_deadline",
  "off_scope",
  "policy_violation",
  "other",
  "missed_deadlines",
  "review_stalled",
  "review_cluster",
];

// caseTitle names a case by what opened it: "Flag: off scope".
export function caseTitle(c: Pick<Case, "kind" | "reason">): string {
  return `${c.kind === "flag" ? "Flag" : "Signal"}: ${humanize(c.reason)}`;
}

// Cases is support's case queue (oldest first) with status, reason and
// minimum-age filters kept in the URL, and cursor paging.
export function Cases() {
  return (
    <SupportPage>
      <CaseQueue />
    </SupportPage>
  );
}

function CaseQueue() {
  const filters = useFilters();
  const status = filters.get("status") || "open"; // "any": every status
  const reason = filters.get("reason");
  const minAge = filters.get("min_age_hours");
  const [ageText, setAgeText] = useState(minAge);

  const cases = useInfiniteQuery({
    queryKey: ["support", "cases", status, reason, minAge],
    initialPageParam: "",
    queryFn: async ({ pageParam }) =>
      must(
        await api.GET("/v1/cases", {
          params: {
            query: {
              status: status === "any" ? undefined : (status as Schemas["CaseStatus"]),
              reason: (reason || undefined) as Schemas["CaseReason"] | undefined,
              min_age_hours: minAge === "" ? undefined : Number(minAge),
              cursor: pageParam || undefined,
            },
          },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });

  function applyAge(e: FormEvent) {
    e.preventDefault();
    filters.set({ min_age_hours: ageText });
  }

  const error = cases.isError ? asApiError(cases.error) : null;
  const ageError = error?.field("min_age_hours");
  const items = cases.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <>
      <h1>Cases</h1>
      <form className="filters sup-filters" onSubmit={applyAge} aria-label="Filter cases">
        <label>
          Status
          <select value={status} onChange={(e) => filters.set({ status: e.target.value === "open" ? "" : e.target.value })}>
            <option value="open">Open</option>
            <option value="resolved">Resolved</option>
            <option value="any">Any status</option>
          </select>
        </label>
        <label>
          Reason
          <select value={reason} onChange={(e) => filters.set({ reason: e.target.value })}>
            <option value="">Any reason</option>
            {caseReasons.map((r) => (
              <option key={r} value={r}>
                {humanize(r)}
              </option>
            ))}
          </select>
        </label>
        <Field
          label="Opened at least (hours ago)"
          name="min_age_hours"
          type="number"
          min={0}
          max={8760}
          required={false}
          value={ageText}
          onChange={setAgeText}
          error={ageError}
        />
        <button type="submit">Apply age filter</button>
      </form>
      {cases.isPending && <Loading what="Loading cases" />}
      {error && !ageError && <ProblemMessage error={error} />}
      {cases.isSuccess && items.length === 0 && <Empty>No cases match these filters.</Empty>}
      {items.length > 0 && (
        <Scroll label="Case queue">
          <table className="sup-table">
            <caption className="muted">Oldest first</caption>
            <thead>
              <tr>
                <th scope="col">Case</th>
                <th scope="col">About</th>
                <th scope="col">Opened</th>
                <th scope="col">Age</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {items.map((c) => (
                <CaseRow key={c.id} c={c} />
              ))}
            </tbody>
          </table>
        </Scroll>
      )}
      <More show={!!cases.hasNextPage} busy={cases.isFetchingNextPage} onMore={() => cases.fetchNextPage()} label="More cases" />
    </>
  );
}

function CaseRow({ c }: { c: Case }) {
  return (
    <tr>
      <td>
        <Link to={`/support/cases/${c.id}`}>{caseTitle(c)}</Link>
      </td>
      <td>
        {c.order_id && (
          <span className="sup-id">
            Order {c.order_id}
            <br />
          </span>
        )}
        {c.agent_id && <span className="sup-id">Agent {c.agent_id}</span>}
      </td>
      <td>{when(c.opened_at)}</td>
      <td>{age(c.opened_at)}</td>
      <td>{c.status === "open" ? "Open" : `Resolved${c.resolution ? ` (${c.resolution.action === "refund" ? "refund" : "dismissed"})` : ""}`}</td>
    </tr>
  );
}
