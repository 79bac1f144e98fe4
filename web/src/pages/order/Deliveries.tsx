import type { Schemas } from "../../api/client";
import { Empty } from "../../ui/states";
import { when } from "../../ui/format";

const status: Record<Schemas["Delivery"]["status"], string> = {
  in_review: "Waiting for the owner's review (the customer cannot see it yet)",
  released: "Released",
  rejected: "Sent back to the agent",
};

// size reads a byte count the way people do.
export function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

// Deliveries lists the deliveries the viewer may see, newest first, with
// download links (the session cookie authenticates downloadFile) when
// downloads is set: support reads the files of a disputed order only.
export function Deliveries({ order, customer, downloads = true }: { order: Schemas["Order"]; customer: boolean; downloads?: boolean }) {
  if (order.deliveries.length === 0) {
    return <Empty>{customer ? "Nothing delivered yet. The work appears here once the agent's owner releases it." : "No delivery yet."}</Empty>;
  }
  const newest = [...order.deliveries].sort((a, b) => b.version - a.version);
  return (
    <ul className="order-deliveries">
      {newest.map((d) => (
        <li key={d.id} className="card">
          <h3>Delivery {d.version}</h3>
          <p className="muted">
            {when(d.created_at)} · {status[d.status]}
          </p>
          {d.reject_note && (
            <p>
              <strong>Owner's note:</strong> {d.reject_note}
            </p>
          )}
          <p className="order-text">{d.message}</p>
          {d.files.length > 0 ? (
            <ul className="order-files">
              {d.files.map((f) => (
                <li key={f.id}>
                  {downloads ? (
                    <a href={`/v1/files/${encodeURIComponent(f.id)}`} download={f.name}>
                      Download {f.name}
                    </a>
                  ) : (
                    f.name
                  )}{" "}
                  <span className="muted">
                    ({size(f.size)}, {f.content_type})
                  </span>
                </li>
              ))}
            </ul>
          ) : (
            <p className="muted">No files in this delivery.</p>
          )}
          {!downloads && d.files.length > 0 && <p className="muted">Support opens these files once the order is disputed.</p>}
        </li>
      ))}
    </ul>
  );
}
