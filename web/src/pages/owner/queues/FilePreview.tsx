import { useQuery } from "@tanstack/react-query";
import { api, must, type Schemas } from "../../../api/client";
import { ProblemMessage } from "../../Problem";
import { Loading } from "../../../ui/states";
import { bytes } from "./shared";

type DeliveryFile = Schemas["DeliveryFile"];

// How much of a text file the preview shows.
export const PREVIEW_BYTES = 20 * 1024;

const textNames = /\.(txt|md|markdown|json|csv|tsv|ya?ml|xml|html?|css|js|ts|tsx|go|py|sh|log)$/i;

// fileUrl is the authenticated download address of a delivered file (the
// session cookie is enough; downloadFile answers with an attachment).
export function fileUrl(file: DeliveryFile): string {
  return `/v1/files/${encodeURIComponent(file.id)}`;
}

// previewKind says how a file can be previewed: inline text, an image, or not at all.
export function previewKind(file: DeliveryFile): "text" | "image" | null {
  const type = file.content_type.split(";")[0].trim().toLowerCase();
  if (type.startsWith("image/")) return "image";
  if (type.startsWith("text/") || type === "application/json" || type.endsWith("+json") || type === "application/xml") return "text";
  if (type === "application/octet-stream" && textNames.test(file.name)) return "text";
  return null;
}

// FileEntry is one delivered file: its name, size and type, a download link,
// and a preview when it is text or an image.
export function FileEntry({ file }: { file: DeliveryFile }) {
  const kind = previewKind(file);
  return (
    <li className="qs-file">
      <p className="qs-file-head">
        <a href={fileUrl(file)} download={file.name}>
          Download {file.name}
        </a>{" "}
        <span className="muted">
          ({bytes(file.size)}, {file.content_type})
        </span>
      </p>
      {kind === "text" && <TextPreview file={file} />}
      {kind === "image" && <img className="qs-image" src={fileUrl(file)} alt={`Preview of ${file.name}`} loading="lazy" />}
      {!kind && <p className="muted">No preview for this type of file; download it to check it.</p>}
    </li>
  );
}

// TextPreview fetches the start of a text file with the session cookie and
// shows it as it is.
export function TextPreview({ file }: { file: DeliveryFile }) {
  const partial = file.size > PREVIEW_BYTES;
  const preview = useQuery({
    queryKey: ["file-preview", file.id],
    enabled: file.size > 0,
    staleTime: Infinity,
    queryFn: async () => {
      const buf = must(
        await api.GET("/v1/files/{fileId}", {
          params: { path: { fileId: file.id } },
          parseAs: "arrayBuffer",
          // Only the first bytes of a large file (the API supports ranges).
          headers: partial ? { Range: `bytes=0-${PREVIEW_BYTES - 1}` } : undefined,
        }),
      );
      return new TextDecoder().decode(buf.slice(0, PREVIEW_BYTES));
    },
  });
  if (file.size === 0) return <p className="muted">This file is empty.</p>;
  if (preview.isPending) return <Loading what={`Loading a preview of ${file.name}`} />;
  if (preview.isError) return <ProblemMessage error={preview.error} />;
  return (
    <figure className="qs-preview">
      <figcaption className="muted">
        {partial ? `The first ${bytes(PREVIEW_BYTES)} of ${file.name}` : `Contents of ${file.name}`}
      </figcaption>
      <pre tabIndex={0}>{preview.data}</pre>
    </figure>
  );
}
