/**
 * Checks real HTTP responses against docs/openapi.json: the status must be documented for
 * the operation, the body must match the response schema (JSON Schema 2020-12 as OpenAPI 3.1
 * uses it, compiled with zod's `z.fromJSONSchema`), a response without content must have no
 * body, and documented headers must be present (when required) and match their schema.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

export type OpenApiDoc = Record<string, any>;

export const OPENAPI_PATH = new URL('../../docs/openapi.json', import.meta.url);

export function loadOpenApi(): OpenApiDoc {
  return JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')) as OpenApiDoc;
}

/** Follows a local `$ref` (`#/components/...`) to the object it names. */
export function deref<T = any>(doc: OpenApiDoc, value: any): T {
  let v = value;
  for (let i = 0; v && typeof v === 'object' && typeof v.$ref === 'string'; i++) {
    if (i > 20) throw new Error(`$ref loop at ${value.$ref}`);
    const ref: string = v.$ref;
    if (!ref.startsWith('#/')) throw new Error(`only local $refs are supported: ${ref}`);
    v = ref
      .slice(2)
      .split('/')
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce((o: any, k) => (o === undefined ? undefined : o[k]), doc);
    if (v === undefined) throw new Error(`dangling $ref ${ref}`);
  }
  return v as T;
}

const SCHEMAS = '#/components/schemas/';

function rewriteRefs(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(rewriteRefs);
  if (!v || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v).map(([k, x]) => [k, k === '$ref' && typeof x === 'string' && x.startsWith(SCHEMAS) ? `#/$defs/${x.slice(SCHEMAS.length)}` : rewriteRefs(x)]),
  );
}

const compiled = new WeakMap<object, z.ZodType>();

/** A zod schema for a schema object of the document (its component schemas become `$defs`). */
export function schemaOf(doc: OpenApiDoc, schema: object): z.ZodType {
  let s = compiled.get(schema);
  if (!s) {
    s = z.fromJSONSchema({ ...(rewriteRefs(schema) as object), $defs: rewriteRefs(doc.components?.schemas ?? {}) } as never);
    compiled.set(schema, s);
  }
  return s;
}

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
}

/** Problems of a response against the document (empty when it conforms). */
export function responseProblems(doc: OpenApiDoc, path: string, method: string, res: RawResponse): string[] {
  const op = doc.paths?.[path]?.[method.toLowerCase()];
  if (!op) return [`${method} ${path} is not documented`];
  const documented = op.responses?.[String(res.status)];
  if (!documented) return [`${method} ${path}: status ${res.status} is not documented (documented: ${Object.keys(op.responses ?? {}).join(', ')})`];
  const spec = deref(doc, documented);
  const problems: string[] = [];
  const where = `${method} ${path} ${res.status}`;

  if (spec.content) {
    const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    const media = spec.content[type];
    if (!media) problems.push(`${where}: content-type ${JSON.stringify(type)} is not one of ${Object.keys(spec.content).join(', ')}`);
    else {
      let body: unknown;
      try {
        body = JSON.parse(res.text);
      } catch {
        problems.push(`${where}: body is not JSON: ${res.text.slice(0, 200)}`);
      }
      if (body !== undefined && media.schema) {
        const out = schemaOf(doc, media.schema).safeParse(body);
        if (!out.success) problems.push(`${where}: body ${res.text.slice(0, 300)} does not match the schema: ${out.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`).join('; ')}`);
      }
    }
  } else if (res.text !== '') {
    problems.push(`${where}: documented without content, but the body is ${JSON.stringify(res.text.slice(0, 200))}`);
  }

  for (const [name, ref] of Object.entries(spec.headers ?? {})) {
    const h = deref(doc, ref);
    const value = res.headers.get(name);
    if (value === null) {
      if (h.required) problems.push(`${where}: required header ${name} is missing`);
      continue;
    }
    if (h.schema) {
      const schema = deref(doc, h.schema);
      const parsed = schema.type === 'integer' || schema.type === 'number' ? (/^-?\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value) : value;
      const out = schemaOf(doc, schema).safeParse(parsed);
      if (!out.success) problems.push(`${where}: header ${name}: ${JSON.stringify(value)} does not match its schema`);
    }
  }
  return problems;
}
