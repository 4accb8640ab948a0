/**
 * The comm protocol between the NAS Explorer panel and a kernel running nasnb.
 *
 * Both ends validate every message against this schema (the Python twin lives in
 * `nasnb/widgets/_panel_protocol.py`): a kernel is code the user runs, so a
 * malformed or unknown message is dropped with a warning instead of reaching the DOM.
 */

/** The comm target both sides register; `dock()` opens it from the kernel too. */
export const COMM_TARGET = 'nasnb:explorer';

/** Longest text field accepted; a title or error longer than this is not a label. */
export const MAX_TEXT = 2000;

/** The panel asks for the docked explorer, or asks the kernel to replay a run. */
export type PanelMessage =
  | { type: 'request' }
  | { type: 'open_run'; path: string };

/** The kernel answers with its docked explorer, with nothing, or with an error. */
export type KernelMessage =
  | { type: 'docked'; model_id: string; title: string }
  | { type: 'empty' }
  | { type: 'error'; message: string };

/** A validation result: the typed message, or why it was refused. */
export type Parsed<T> = { ok: true; message: T } | { ok: false; reason: string };

type FieldKind = 'text' | 'model_id' | 'path';

const KERNEL_SCHEMA: Record<string, Record<string, FieldKind>> = {
  docked: { model_id: 'model_id', title: 'text' },
  empty: {},
  error: { message: 'text' }
};

const PANEL_SCHEMA: Record<string, Record<string, FieldKind>> = {
  request: {},
  open_run: { path: 'path' }
};

/** ipywidgets model ids are uuid4 hex strings; anything else cannot name a view. */
const MODEL_ID = /^[0-9a-zA-Z_-]{1,64}$/;

function checkField(kind: FieldKind, value: unknown): string | null {
  if (typeof value !== 'string') {
    return `expected a string, got ${value === null ? 'null' : typeof value}`;
  }
  if (kind === 'model_id' && !MODEL_ID.test(value)) {
    return 'not a widget model id';
  }
  if (kind === 'path' && (value.length === 0 || value.includes('\0'))) {
    return 'not a path';
  }
  if (value.length > MAX_TEXT) {
    return `longer than ${MAX_TEXT} characters`;
  }
  return null;
}

function parse<T>(
  schema: Record<string, Record<string, FieldKind>>,
  data: unknown
): Parsed<T> {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { ok: false, reason: 'message is not an object' };
  }
  const record = data as Record<string, unknown>;
  const type = record.type;
  if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(schema, type)) {
    return { ok: false, reason: `unknown message type ${JSON.stringify(type)}` };
  }
  const fields = schema[type];
  for (const key of Object.keys(record)) {
    if (key !== 'type' && !(key in fields)) {
      return { ok: false, reason: `${type}: unexpected field ${JSON.stringify(key)}` };
    }
  }
  for (const [key, kind] of Object.entries(fields)) {
    const problem = checkField(kind, record[key]);
    if (problem) {
      return { ok: false, reason: `${type}.${key}: ${problem}` };
    }
  }
  return { ok: true, message: record as T };
}

/** Validate a message received from the kernel. */
export function parseKernelMessage(data: unknown): Parsed<KernelMessage> {
  return parse<KernelMessage>(KERNEL_SCHEMA, data);
}

/** Validate a message before the panel sends it (the kernel checks it again). */
export function parsePanelMessage(data: unknown): Parsed<PanelMessage> {
  return parse<PanelMessage>(PANEL_SCHEMA, data);
}
