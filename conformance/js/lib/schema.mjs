// A small Swagger 2.0 schema validator for the guest chat contract.
//
// Policy (see README.md "Schema validation"):
//  * `$ref` (#/definitions/...), object `properties`, `additionalProperties` (maps), arrays/`items`,
//    `type` (string, integer, number, boolean, object, array), `enum` (case-SENSITIVE: the emulator must
//    emit the canonical wire values, e.g. "CONNECTED", "standard"), integer `format` int32/int64 ranges,
//    string `format` date-time (ISO-8601 / RFC 3339 with a zone) and uri (an absolute URI or a
//    path-absolute reference such as the real service's "/api/v2/..." selfUris).
//  * `required` is NOT enforced on responses: the real service omits "required" fields freely
//    (PROTOCOL.md section 5). Pass {enforceRequired: true} to enforce it (used for request bodies).
//  * Properties not declared by the schema are violations (the emulator should emit only contract fields).
//  * `null` is a violation: the service omits absent fields instead of sending null (PROTOCOL.md section 2).
import { readFileSync, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_SWAGGER_PATH = resolve(here, '../../../../shared/reference/swagger.json');

export function swaggerPath() {
  return process.env.SWAGGER_PATH || DEFAULT_SWAGGER_PATH;
}

let cached;
export function loadSwagger() {
  if (cached) return cached;
  const p = swaggerPath();
  if (!existsSync(p)) {
    throw new Error(
      `swagger.json not found at ${p}. The suite validates every body against the REST contract; ` +
        `point it at the file with SWAGGER_PATH=/path/to/shared/reference/swagger.json ` +
        `(by default it is read from ../../../shared/reference/swagger.json relative to conformance/js, i.e. shared/ beside the checkout).`,
    );
  }
  cached = JSON.parse(readFileSync(p, 'utf8'));
  return cached;
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function isUri(v) {
  if (/\s/.test(v) || v.length === 0) return false;
  if (v.startsWith('/')) return true; // path-absolute reference (real selfUris are relative)
  try {
    const u = new URL(v);
    return !!u.protocol;
  } catch {
    return false;
  }
}

function typeOf(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

export function resolveRef(ref) {
  const sw = loadSwagger();
  const m = /^#\/definitions\/(.+)$/.exec(ref);
  if (!m || !sw.definitions[m[1]]) throw new Error(`unresolvable $ref ${ref}`);
  return sw.definitions[m[1]];
}

/** Validate `value` against `schema` (a schema object, a definition name, or {$ref}). Returns a list of violations. */
export function validate(value, schema, opts = {}, path = '$', errors = []) {
  if (typeof schema === 'string') schema = { $ref: `#/definitions/${schema}` };
  if (schema.$ref) return validate(value, resolveRef(schema.$ref), opts, path, errors);
  const t = typeOf(value);
  if (t === 'null') {
    errors.push(`${path}: null (absent fields must be omitted, not null)`);
    return errors;
  }
  const type = schema.type || (schema.properties || schema.additionalProperties ? 'object' : undefined);
  switch (type) {
    case 'object': {
      if (t !== 'object') {
        errors.push(`${path}: expected object, got ${t} ${JSON.stringify(value)}`);
        break;
      }
      const props = schema.properties || {};
      for (const [k, v] of Object.entries(value)) {
        if (props[k]) validate(v, props[k], opts, `${path}.${k}`, errors);
        else if (schema.additionalProperties && typeof schema.additionalProperties === 'object')
          validate(v, schema.additionalProperties, opts, `${path}[${JSON.stringify(k)}]`, errors);
        else if (schema.additionalProperties !== true) errors.push(`${path}: unknown property "${k}" (not in the contract)`);
      }
      if (opts.enforceRequired)
        for (const r of schema.required || []) if (!(r in value)) errors.push(`${path}: missing required "${r}"`);
      break;
    }
    case 'array':
      if (t !== 'array') {
        errors.push(`${path}: expected array, got ${t}`);
        break;
      }
      value.forEach((item, i) => validate(item, schema.items || {}, opts, `${path}[${i}]`, errors));
      break;
    case 'string':
      if (t !== 'string') {
        errors.push(`${path}: expected string, got ${t} ${JSON.stringify(value)}`);
        break;
      }
      if (schema.enum && !schema.enum.includes(value))
        errors.push(`${path}: ${JSON.stringify(value)} not in enum [${schema.enum.join(', ')}] (case-sensitive)`);
      if (schema.format === 'date-time' && !(DATE_TIME.test(value) && !Number.isNaN(Date.parse(value))))
        errors.push(`${path}: ${JSON.stringify(value)} is not an ISO-8601 date-time with zone`);
      if (schema.format === 'uri' && !isUri(value)) errors.push(`${path}: ${JSON.stringify(value)} is not a uri`);
      break;
    case 'integer':
      if (t !== 'number' || !Number.isInteger(value)) {
        errors.push(`${path}: expected integer, got ${t} ${JSON.stringify(value)}`);
        break;
      }
      if (schema.format === 'int32' && (value < -(2 ** 31) || value > 2 ** 31 - 1)) errors.push(`${path}: ${value} out of int32 range`);
      break;
    case 'number':
      if (t !== 'number') errors.push(`${path}: expected number, got ${t}`);
      break;
    case 'boolean':
      if (t !== 'boolean') errors.push(`${path}: expected boolean, got ${t} ${JSON.stringify(value)}`);
      break;
    default:
      break; // untyped schema: anything goes
  }
  return errors;
}

/** Find the swagger operation object by operationId. */
export function operation(operationId) {
  const sw = loadSwagger();
  for (const [path, item] of Object.entries(sw.paths))
    for (const [method, op] of Object.entries(item)) if (op.operationId === operationId) return { path, method, op };
  throw new Error(`operation ${operationId} not in swagger`);
}

// Extra schemas for event-stream bodies (not swagger models, but built from them; PROTOCOL.md section 7.4).
export const eventSchemas = {
  'member-change': {
    type: 'object',
    properties: {
      conversation: { $ref: '#/definitions/WebChatConversation' },
      member: { $ref: '#/definitions/WebChatMemberInfo' },
      timestamp: { type: 'string', format: 'date-time' },
    },
  },
  message: { $ref: '#/definitions/WebChatMessage' },
  'typing-indicator': { $ref: '#/definitions/WebChatTyping' },
};
