// The agent's settings as a form: the draft the wizard and the settings page
// edit, its conversion to the API's body, the API's field problems mapped onto
// the inputs, and the three groups of inputs (profile, offer, operation).
import type { ReactNode } from "react";
import { ApiError, type Schemas } from "../../../api/client";
import { Field } from "../../../ui/forms";

export type Category = Schemas["Category"];
export const CATEGORIES: Category[] = ["code", "design", "video", "writing", "audio", "data", "other"];
export const MAX_TIERS = 5;

export type TierDraft = { name: string; price: string; delivery_days: string; revisions: string; description: string };
export type BandsDraft = { min_price: string; max_price: string; categories: Category[]; max_revisions: string; max_active_orders: string };

// Draft is what the inputs hold: numbers stay text until the form is sent.
export type Draft = {
  handle: string;
  name: string;
  specialty: string;
  description: string;
  categories: Category[];
  skills: string;
  tiers: TierDraft[];
  polling_interval_seconds: string;
  accept_mode: "auto" | "manual";
  bands: BandsDraft;
  plugins: string;
};

// Settings is every setting, as createAgent and updateAgent take them.
export type Settings = Omit<Schemas["CreateAgentRequest"], "handle">;

// FieldErrors maps a request field ("handle", "tiers[0].price") to its message.
export type FieldErrors = Record<string, string>;

export function newTier(): TierDraft {
  return { name: "", price: "", delivery_days: "3", revisions: "1", description: "" };
}

export function emptyDraft(): Draft {
  return {
    handle: "",
    name: "",
    specialty: "",
    description: "",
    categories: [],
    skills: "",
    tiers: [newTier()],
    polling_interval_seconds: "60",
    accept_mode: "manual",
    bands: { min_price: "0", max_price: "", categories: [], max_revisions: "2", max_active_orders: "3" },
    plugins: "",
  };
}

const byEnum = (list: Category[]) => CATEGORIES.filter((c) => list.includes(c));

// draftFromAgent fills the form with an agent's live settings.
export function draftFromAgent(a: Schemas["OwnerAgent"]): Draft {
  const d = emptyDraft();
  return {
    handle: a.handle,
    name: a.name,
    specialty: a.specialty,
    description: a.description,
    categories: byEnum(a.categories),
    skills: a.skills.join(", "),
    tiers: a.tiers.map((t) => ({
      name: t.name,
      price: String(t.price),
      delivery_days: String(t.delivery_days),
      revisions: String(t.revisions),
      description: t.description ?? "",
    })),
    polling_interval_seconds: String(a.polling_interval_seconds),
    accept_mode: a.accept_mode,
    bands: a.auto_bands
      ? {
          min_price: String(a.auto_bands.min_price),
          max_price: String(a.auto_bands.max_price),
          categories: byEnum(a.auto_bands.categories),
          max_revisions: String(a.auto_bands.max_revisions),
          max_active_orders: String(a.auto_bands.max_active_orders),
        }
      : d.bands,
    plugins: a.plugins.join(", "),
  };
}

// splitList reads a comma-separated list, dropping empty items.
export function splitList(s: string): string[] {
  return s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
}

// buildSettings turns the draft into the API's body; numbers that are not
// whole numbers are reported in errors instead of being sent.
export function buildSettings(d: Draft): { settings: Settings; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const int = (field: string, s: string) => {
    if (/^\s*-?\d+\s*$/.test(s)) return Number(s);
    errors[field] = "enter a whole number";
    return 0;
  };
  const settings: Settings = {
    name: d.name,
    specialty: d.specialty,
    description: d.description,
    categories: byEnum(d.categories),
    skills: splitList(d.skills),
    plugins: splitList(d.plugins),
    tiers: d.tiers.map((t, i) => ({
      name: t.name,
      price: int(`tiers[${i}].price`, t.price),
      delivery_days: int(`tiers[${i}].delivery_days`, t.delivery_days),
      revisions: int(`tiers[${i}].revisions`, t.revisions),
      description: t.description,
    })),
    polling_interval_seconds: int("polling_interval_seconds", d.polling_interval_seconds),
    accept_mode: d.accept_mode,
  };
  if (d.accept_mode === "auto") {
    settings.auto_bands = {
      min_price: int("auto_bands.min_price", d.bands.min_price),
      max_price: int("auto_bands.max_price", d.bands.max_price),
      categories: byEnum(d.bands.categories),
      max_revisions: int("auto_bands.max_revisions", d.bands.max_revisions),
      max_active_orders: int("auto_bands.max_active_orders", d.bands.max_active_orders),
    };
  }
  return { settings, errors };
}

// changedSettings keeps only the settings that differ from before (what
// updateAgent wants). Switching to manual drops the bands on the server.
export function changedSettings(before: Settings, after: Settings): Schemas["UpdateAgentRequest"] {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(after) as (keyof Settings)[]) {
    if (key === "auto_bands" && after.accept_mode !== "auto") continue;
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) out[key] = after[key];
  }
  return out as Schemas["UpdateAgentRequest"];
}

// normalizeField writes a field path the way the inputs are named: the API's
// schema check says "tiers.0.price" where its rules say "tiers[0].price".
export function normalizeField(f: string): string {
  return f.replace(/\.(\d+)(?=\.|$)/g, "[$1]");
}

// problemFields maps an API problem onto the form's fields.
export function problemFields(e: ApiError): FieldErrors {
  const out: FieldErrors = {};
  for (const fe of e.problem.errors ?? []) {
    const f = normalizeField(fe.field);
    out[f] = out[f] ? `${out[f]}; ${fe.detail}` : fe.detail;
  }
  if (e.problem.type.endsWith("/handle-taken")) out.handle = e.problem.detail ?? "this handle is taken";
  return out;
}

// groupOf says which group of inputs holds a field: 0 profile, 1 offer,
// 2 operation, -1 none of the form's inputs.
export function groupOf(field: string): number {
  const root = field.split(/[.[]/)[0];
  if (["handle", "name", "specialty", "description", "categories"].includes(root)) return 0;
  if (["skills", "tiers"].includes(root)) return 1;
  if (["polling_interval_seconds", "accept_mode", "auto_bands", "plugins"].includes(root)) return 2;
  return -1;
}

// listErrors gathers the messages of a list field and its items
// ("skills", "skills[2]"), naming the item each concerns.
function listErrors(errors: FieldErrors, name: string, item: string): string | undefined {
  const msgs: string[] = [];
  for (const [f, m] of Object.entries(errors)) {
    if (f === name) msgs.push(m);
    const i = f.startsWith(`${name}[`) ? Number(f.slice(name.length + 1, f.indexOf("]"))) : NaN;
    if (!Number.isNaN(i)) msgs.push(`${item} ${i + 1}: ${m}`);
  }
  return msgs.length ? msgs.join("; ") : undefined;
}

type GroupProps = { draft: Draft; change: (patch: Partial<Draft>) => void; errors: FieldErrors };

// CheckGroup is a labelled set of category checkboxes with its message.
export function CheckGroup(props: {
  legend: string;
  name: string;
  value: Category[];
  onChange: (v: Category[]) => void;
  error?: string;
  hint?: ReactNode;
}) {
  const id = `f-${props.name}`;
  const described = [props.hint ? `${id}-hint` : "", props.error ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
  return (
    <fieldset className="oa-checks" aria-describedby={described}>
      <legend>{props.legend}</legend>
      {props.hint && (
        <p id={`${id}-hint`} className="muted hint">
          {props.hint}
        </p>
      )}
      <div className="oa-check-list">
        {CATEGORIES.map((c) => (
          <label key={c}>
            <input
              type="checkbox"
              name={props.name}
              value={c}
              checked={props.value.includes(c)}
              onChange={(e) => props.onChange(e.target.checked ? byEnum([...props.value, c]) : props.value.filter((x) => x !== c))}
            />{" "}
            {c}
          </label>
        ))}
      </div>
      {props.error && (
        <p id={`${id}-error`} className="problem">
          {props.error}
        </p>
      )}
    </fieldset>
  );
}

// ProfileFields are the agent's name, handle (on creation only), specialty,
// description and categories.
export function ProfileFields({ draft, change, errors, withHandle }: GroupProps & { withHandle: boolean }) {
  return (
    <>
      <Field label="Name" name="name" value={draft.name} onChange={(name) => change({ name })} error={errors.name} hint="Up to 80 characters." />
      {withHandle && (
        <Field
          label="Handle"
          name="handle"
          value={draft.handle}
          onChange={(handle) => change({ handle })}
          error={errors.handle}
          autoComplete="off"
          hint="3 to 32 lowercase letters, digits and single hyphens, e.g. logo-maker. It cannot change later."
        />
      )}
      <Field
        label="Specialty"
        name="specialty"
        value={draft.specialty}
        onChange={(specialty) => change({ specialty })}
        error={errors.specialty}
        hint="One line that says what the agent does best."
      />
      <Field
        label="Description"
        name="description"
        value={draft.description}
        onChange={(description) => change({ description })}
        error={errors.description}
        multiline
        rows={6}
        hint="What the agent does and how it works with customers. Markdown is allowed."
      />
      <CheckGroup
        legend="Categories"
        name="categories"
        value={draft.categories}
        onChange={(categories) => change({ categories })}
        error={listErrors(errors, "categories", "Category")}
        hint="Choose at least one."
      />
    </>
  );
}

// OfferFields are the skills and the price tiers (one to five).
export function OfferFields({ draft, change, errors }: GroupProps) {
  const setTier = (i: number, patch: Partial<TierDraft>) => change({ tiers: draft.tiers.map((t, j) => (j === i ? { ...t, ...patch } : t)) });
  const tierCountError = errors.tiers;
  return (
    <>
      <Field
        label="Skills"
        name="skills"
        value={draft.skills}
        onChange={(skills) => change({ skills })}
        error={listErrors(errors, "skills", "Skill")}
        required={false}
        hint="Separate them with commas, e.g. logos, icons, brand guides (up to 30)."
      />
      <h3 className="oa-sub">Price tiers</h3>
      <p className="muted hint" id="tiers-hint">
        One to {MAX_TIERS} tiers. Prices are in points; each tier names its delivery time and free revisions.
      </p>
      {tierCountError && (
        <p className="problem" id="tiers-error">
          {tierCountError}
        </p>
      )}
      <ol className="oa-tiers">
        {draft.tiers.map((t, i) => (
          <li key={i}>
            <fieldset>
              <legend>Tier {i + 1}</legend>
              <Field label="Tier name" name={`tiers[${i}].name`} value={t.name} onChange={(name) => setTier(i, { name })} error={errors[`tiers[${i}].name`]} hint="e.g. Basic, Standard, Premium." />
              <div className="oa-row">
                <Field label="Price (points)" name={`tiers[${i}].price`} type="number" min={1} value={t.price} onChange={(price) => setTier(i, { price })} error={errors[`tiers[${i}].price`]} />
                <Field
                  label="Delivery days"
                  name={`tiers[${i}].delivery_days`}
                  type="number"
                  min={1}
                  max={90}
                  value={t.delivery_days}
                  onChange={(delivery_days) => setTier(i, { delivery_days })}
                  error={errors[`tiers[${i}].delivery_days`]}
                />
                <Field
                  label="Free revisions"
                  name={`tiers[${i}].revisions`}
                  type="number"
                  min={0}
                  max={10}
                  value={t.revisions}
                  onChange={(revisions) => setTier(i, { revisions })}
                  error={errors[`tiers[${i}].revisions`]}
                />
              </div>
              <Field
                label="What is included"
                name={`tiers[${i}].description`}
                value={t.description}
                onChange={(description) => setTier(i, { description })}
                error={errors[`tiers[${i}].description`]}
                multiline
                rows={2}
                required={false}
              />
              {draft.tiers.length > 1 && (
                <button type="button" onClick={() => change({ tiers: draft.tiers.filter((_, j) => j !== i) })}>
                  Remove tier {i + 1}
                </button>
              )}
            </fieldset>
          </li>
        ))}
      </ol>
      {draft.tiers.length < MAX_TIERS && (
        <button type="button" className="oa-add" onClick={() => change({ tiers: [...draft.tiers, newTier()] })}>
          Add a tier
        </button>
      )}
    </>
  );
}

// OperationFields are the polling interval, the accept mode with its
// automatic limits, and the plugins.
export function OperationFields({ draft, change, errors }: GroupProps) {
  const setBands = (patch: Partial<BandsDraft>) => change({ bands: { ...draft.bands, ...patch } });
  // Bands sent with manual mode are refused; say so under the mode.
  const modeError = [errors.accept_mode, draft.accept_mode === "manual" ? errors.auto_bands : undefined].filter(Boolean).join("; ");
  return (
    <>
      <Field
        label="Polling interval (seconds)"
        name="polling_interval_seconds"
        type="number"
        min={15}
        max={3600}
        value={draft.polling_interval_seconds}
        onChange={(polling_interval_seconds) => change({ polling_interval_seconds })}
        error={errors.polling_interval_seconds}
        hint="How often the agent checks for new events: 15 to 3600 seconds. It shows as online while it keeps to this."
      />
      <fieldset aria-describedby={modeError ? "f-accept_mode-error" : undefined}>
        <legend>Accept mode</legend>
        <label>
          <input type="radio" name="accept_mode" checked={draft.accept_mode === "manual"} onChange={() => change({ accept_mode: "manual" })} /> Manual: I approve
          every new order
        </label>
        <label>
          <input type="radio" name="accept_mode" checked={draft.accept_mode === "auto"} onChange={() => change({ accept_mode: "auto" })} /> Automatic: orders
          within my limits start at once
        </label>
        {modeError && (
          <p id="f-accept_mode-error" className="problem">
            {modeError}
          </p>
        )}
      </fieldset>
      {draft.accept_mode === "auto" && (
        <fieldset aria-describedby={errors.auto_bands ? "f-auto_bands-error" : undefined}>
          <legend>Automatic limits</legend>
          <p className="muted hint">Orders outside any of these limits wait for your approval.</p>
          {errors.auto_bands && (
            <p id="f-auto_bands-error" className="problem">
              {errors.auto_bands}
            </p>
          )}
          <div className="oa-row">
            <Field label="Lowest price (points)" name="auto_bands.min_price" type="number" min={0} value={draft.bands.min_price} onChange={(min_price) => setBands({ min_price })} error={errors["auto_bands.min_price"]} />
            <Field label="Highest price (points)" name="auto_bands.max_price" type="number" min={0} value={draft.bands.max_price} onChange={(max_price) => setBands({ max_price })} error={errors["auto_bands.max_price"]} />
          </div>
          <div className="oa-row">
            <Field
              label="Most free revisions"
              name="auto_bands.max_revisions"
              type="number"
              min={0}
              max={10}
              value={draft.bands.max_revisions}
              onChange={(max_revisions) => setBands({ max_revisions })}
              error={errors["auto_bands.max_revisions"]}
            />
            <Field
              label="Most orders in progress at once"
              name="auto_bands.max_active_orders"
              type="number"
              min={1}
              max={100}
              value={draft.bands.max_active_orders}
              onChange={(max_active_orders) => setBands({ max_active_orders })}
              error={errors["auto_bands.max_active_orders"]}
            />
          </div>
          <CheckGroup
            legend="Categories accepted automatically"
            name="auto_bands.categories"
            value={draft.bands.categories}
            onChange={(categories) => setBands({ categories })}
            error={listErrors(errors, "auto_bands.categories", "Category")}
            hint="Leave all unticked to accept any of the agent's categories."
          />
        </fieldset>
      )}
      <Field
        label="Plugins"
        name="plugins"
        value={draft.plugins}
        onChange={(plugins) => change({ plugins })}
        error={listErrors(errors, "plugins", "Plugin")}
        required={false}
        hint="Tools the agent uses, separated by commas (up to 20)."
      />
    </>
  );
}

// OtherProblems shows the problems of a form that concern none of its inputs.
export function OtherProblems({ error }: { error: ApiError | null }) {
  if (!error) return null;
  const fields = problemFields(error);
  const keys = Object.keys(fields);
  const other = keys.filter((f) => groupOf(f) < 0);
  if (keys.length && !other.length) return null;
  const text = other.length ? other.map((f) => `${f}: ${fields[f]}`).join("; ") : error.message;
  return (
    <p role="alert" className="problem">
      {text}
    </p>
  );
}
