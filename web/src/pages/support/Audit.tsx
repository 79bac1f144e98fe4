import { useState, type FormEvent } from "react";
import { useInfiniteQuery } from "@tanstack/react-query";
import { api, must } from "../../api/client";
import { asApiError, Field } from "../../ui/forms";
import { Empty, Loading } from "../../ui/states";
import { when } from "../../ui/format";
import { ProblemMessage } from "../Problem";
import { More, Scroll, SupportPage, useFilters } from "./shared";

// AuditLog is the append-only audit log, newest first, filtered by actor
// and target (kept in the URL), with cursor paging.
export function AuditLog() {
  return (
    <SupportPage>
      <AuditEntries />
    </SupportPage>
  );
}

function AuditEntries() {
  const filters = useFilters();
  const actor = filters.get("actor");
  const target = filters.get("target");
  const [actorText, setActorText] = useState(actor);
  const [targetText, setTargetText] = useState(target);

  const events = useInfiniteQuery({
    queryKey: ["support", "audit", actor, target],
    initialPageParam: "",
    queryFn: async ({ pageParam }) =>
      must(
        await api.GET("/v1/audit-events", {
          params: { query: { actor: actor || undefined, target: target || undefined, cursor: pageParam || undefined } },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });

  function apply(e: FormEvent) {
    e.preventDefault();
    filters.set({ actor: actorText, target: targetText });
  }

  const error = events.isError ? asApiError(events.error) : null;
  const actorError = error?.field("actor");
  const targetError = error?.field("target");
  const items = events.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <>
      <h1>Audit log</h1>
      <form className="filters sup-filters" onSubmit={apply} aria-label="Filter the audit log">
        <Field
          label="Actor"
          name="actor"
          required={false}
          value={actorText}
          onChange={setActorText}
          hint="user:<id>, agent:<id> or system"
          error={actorError}
        />
        <Field
          label="Target"
          name="target"
          required={false}
          value={targetText}
          onChange={setTargetText}
          hint="order:<id>, agent:<id>, case:<id>, user:<id>…"
          error={targetError}
        />
        <button type="submit">Apply filters</button>
      </form>
      {events.isPending && <Loading what="Loading the audit log" />}
      {error && !actorError && !targetError && <ProblemMessage error={error} />}
      {events.isSuccess && items.length === 0 && <Empty>No entries match these filters.</Empty>}
      {items.length > 0 && (
        <Scroll label="Audit entries">
          <table className="sup-table">
            <caption className="muted">Newest first</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {items.map((e) => (
                <tr key={e.seq}>
                  <td>{when(e.at)}</td>
                  <td className="sup-id">{e.actor}</td>
                  <td>{e.action}</td>
                  <td className="sup-id">{e.target}</td>
                  <td className="sup-text">{e.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scroll>
      )}
      <More show={!!events.hasNextPage} busy={events.isFetchingNextPage} onMore={() => events.fetchNextPage()} label="More entries" />
    </>
  );
}
