// A small schema validator for the guest chat REST contract: the facts extracted from the official SDK's
// swagger.json into crates/client/tests/data/rest-contract.json (by scripts/gen-contract.py).
//
// Policy (see README.md "Schema validation"):
//  * `model` references, object `properties`, `additionalProperties` (maps), arrays/`items`,
//    `type` (string, integer, number, boolean, object, array), `enum` (case-SENSITIVE: the emulator must
//    emit the canonical wire values, e.g. "CONNECTED", "standard"), integer `format` int32/int64 ranges,
//    string `format` date-time (ISO-8601 / RFC 3339 with a zone) and uri (an absolute URI or a
//    path-absolute reference such as the real service's "/api/v2/..." selfUris).
//  * `required` is NOT enforced on responses: the real service omits "required" fields freely
//    (docs/protocol.md section 5). Pass {enforceRequired: true} to enforce it (used for request bodies).
//  * Properties not declared by the schema are violations (the emulator should emit only contract fields).
//  * `null` is a violation: the service omits absent fields instead of sending null (docs/protocol.md section 2).
import { readFileSync, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_CONTRACT_PATH = resolve(here, '../../../crates/client/tests/data/rest-contract.json');

export function contractPath() {
  return process.env.CONTRACT_PATH || DEFAULT_CONTRACT_PATH;
}

let cached;
/** The contract: {operations: [{operationId, method, path, auth, parameters, responses}], models: {Name: {...}}}. */
export function loadContract() {
  if (cached) return cached;
  const p = contractPath();
  if (!existsSync(p)) {
    throw new Error(
      `the REST contract is not at ${p}. The suite validates every body against it; it is committed in the ` +
        `repository (crates/client/tests/data/rest-contract.json); CONTRACT_PATH=/path/to/rest-contract.json points elsewhere.`,
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

export function resolveModel(name) {
  const model = loadContract().models[name];
  if (!model) throw new Error(`unknown model ${name}`);
  return model;
}

/** Validate `value` against `schema` (a schema object, a model name, or {model}). Returns a list of violations. */
export function validate(value, schema, opts = {}, path = '$', errors = []) {
  if (typeof schema === 'string') schema = { model: schema };
  if (schema.model) return validate(value, resolveModel(schema.model), opts, path, errors);
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

/** Find the contract's operation by operationId: {path, method, op}. */
export function operation(operationId) {
  const op = loadContract().operations.find((o) => o.operationId === operationId);
  if (!op) throw new Error(`operation ${operationId} not in the contract`);
  return { path: op.path, method: op.method.toLowerCase(), op };
}

// Extra schemas for event-stream bodies (not contract models, but built from them; docs/protocol.md section 7.4).
export const eventSchemas = {
  'member-change': {
    type: 'object',
    properties: {
      conversation: { model: 'WebChatConversation' },
      member: { model: 'WebChatMemberInfo' },
      timestamp: { type: 'string', format: 'date-time' },
    },
  },
  message: { model: 'WebChatMessage' },
  'typing-indicator': { model: 'WebChatTyping' },
};
