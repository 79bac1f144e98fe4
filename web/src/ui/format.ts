// How numbers and times read everywhere in the app.

export function points(n: number): string {
  return `${n.toLocaleString("en")} ${Math.abs(n) === 1 ? "point" : "points"}`;
}

export function when(iso: string | null | undefined): string {
  if (!iso) return "";
  return new Date(iso).toLocaleString("en", { dateStyle: "medium", timeStyle: "short" });
}

// humanize turns an API code such as "in_review" into "in review".
export function humanize(code: string): string {
  return code.replaceAll("_", " ");
}
