// The CustomResourceDefinitions of CSMTenant, CSMRole and Storage, generated from the JSON Schemas
// the directory loader validates with (src/resources/schemas/): one source for both. The committed
// CRDs (charts/storage-authz/crds/) are this function's output; `npm run crds` rewrites them and a
// test fails when they drift.
//
// JSON Schema → structural OpenAPI v3: `const` becomes a one-value `enum`, a string-or-integer
// becomes `x-kubernetes-int-or-string`, and what OpenAPI cannot say (this file's `if`/`then`) becomes
// a CEL rule in `x-kubernetes-validations`. `additionalProperties: false` is dropped: the API server
// prunes unknown fields and kubectl's strict field validation reports them. Any other keyword is an
// error here, so a schema change the CRD cannot carry fails the generator instead of being lost.
import { stringify } from 'yaml';
import tenantSchema from './schemas/csmtenant.schema.json' with { type: 'json' };
import roleSchema from './schemas/csmrole.schema.json' with { type: 'json' };
import storageSchema from './schemas/storage.schema.json' with { type: 'json' };
import type { ResourceKind } from './objects.js';

export const GROUP = 'csm-authorization.storage.dell.com';
export const VERSION = 'v1';

export interface KindNames {
  kind: ResourceKind;
  plural: string;
  singular: string;
  listKind: string;
}

export const KIND_NAMES: Readonly<Record<ResourceKind, KindNames>> = {
  CSMTenant: { kind: 'CSMTenant', plural: 'csmtenants', singular: 'csmtenant', listKind: 'CSMTenantList' },
  CSMRole: { kind: 'CSMRole', plural: 'csmroles', singular: 'csmrole', listKind: 'CSMRoleList' },
  Storage: { kind: 'Storage', plural: 'storages', singular: 'storage', listKind: 'StorageList' },
};

type JsonSchema = Record<string, unknown>;

const SCHEMAS: Readonly<Record<ResourceKind, JsonSchema>> = { CSMTenant: tenantSchema, CSMRole: roleSchema, Storage: storageSchema };

const READY = '.status.conditions[?(@.type=="Ready")]';
const COMMON_COLUMNS = [
  { name: 'Ready', type: 'string', jsonPath: `${READY}.status` },
  { name: 'Reason', type: 'string', jsonPath: `${READY}.reason`, priority: 1 },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];
const PRINTER_COLUMNS: Readonly<Record<ResourceKind, object[]>> = {
  CSMTenant: [
    { name: 'Roles', type: 'string', jsonPath: '.spec.roles' },
    { name: 'Approve-SDC', type: 'boolean', jsonPath: '.spec.approveSdc' },
    { name: 'Revoked', type: 'boolean', jsonPath: '.spec.revoke' },
    { name: 'Enforcement', type: 'string', jsonPath: '.spec.enforcement', priority: 1 },
  ],
  CSMRole: [
    { name: 'System-Type', type: 'string', jsonPath: '.spec.systemType' },
    { name: 'System-ID', type: 'string', jsonPath: '.spec.systemID' },
    { name: 'Pool', type: 'string', jsonPath: '.spec.pool' },
    { name: 'Quota', type: 'string', jsonPath: '.spec.quota' },
    { name: 'Enforcement', type: 'string', jsonPath: '.spec.enforcement', priority: 1 },
  ],
  Storage: [
    { name: 'Type', type: 'string', jsonPath: '.spec.type' },
    { name: 'System-ID', type: 'string', jsonPath: '.spec.systemID' },
    { name: 'Endpoint', type: 'string', jsonPath: '.spec.endpoint' },
    { name: 'Reachable', type: 'boolean', jsonPath: '.status.reachable' },
  ],
};

// metav1.Condition, as `kubectl wait --for=condition=Ready` and every controller expect it.
const CONDITIONS = {
  type: 'array',
  description: 'Ready: whether the service accepted this object (reason and message say why not)',
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
  items: {
    type: 'object',
    required: ['type', 'status', 'reason', 'message', 'lastTransitionTime'],
    properties: {
      type: { type: 'string' },
      status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
      reason: { type: 'string' },
      message: { type: 'string' },
      lastTransitionTime: { type: 'string', format: 'date-time' },
      observedGeneration: { type: 'integer', format: 'int64' },
    },
  },
};

const STATUS: Readonly<Record<ResourceKind, JsonSchema>> = {
  CSMTenant: {
    type: 'object',
    properties: {
      conditions: CONDITIONS,
      usage: {
        type: 'array',
        description: 'provisioned capacity per array pool, from the quota ledger (refreshed every 30 s and on every change of the objects)',
        items: {
          type: 'object',
          properties: {
            systemType: { type: 'string' },
            systemID: { type: 'string' },
            pool: { type: 'string' },
            quotaKiB: { type: 'integer', format: 'int64', description: 'absent when unlimited' },
            usedKiB: { type: 'integer', format: 'int64', description: 'confirmed by the array' },
            reservedKiB: { type: 'integer', format: 'int64', description: 'held for creates and expansions the array has not confirmed yet; counts against the quota' },
            volumes: { type: 'integer', format: 'int64' },
            enforcement: { type: 'string', enum: ['enforce', 'report'], description: 'how the quota applies here: report lets requests over it through' },
            overQuotaKiB: { type: 'integer', format: 'int64', description: 'used + reserved above the quota (report mode lets a tenant get there); 0 within it' },
          },
        },
      },
    },
  },
  CSMRole: { type: 'object', properties: { conditions: CONDITIONS } },
  Storage: {
    type: 'object',
    properties: {
      conditions: CONDITIONS,
      reachable: { type: 'boolean', description: 'whether the last contact with the array succeeded' },
      lastReconciliation: { type: 'string', format: 'date-time', description: 'when the quota ledger was last reconciled with the array' },
      message: { type: 'string', description: 'what the last contact with the array reported' },
    },
  },
};

/** The CustomResourceDefinition of one kind, as a plain object. */
export function customResourceDefinition(kind: ResourceKind): Record<string, unknown> {
  const names = KIND_NAMES[kind];
  const schema = SCHEMAS[kind];
  const properties = schema.properties as Record<string, JsonSchema>;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${names.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      names: { kind: names.kind, listKind: names.listKind, plural: names.plural, singular: names.singular },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [...PRINTER_COLUMNS[kind], ...COMMON_COLUMNS],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: schema.description,
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                // The API server validates metadata itself; a CRD may not constrain it further.
                metadata: { type: 'object' },
                spec: structural(properties.spec!, 'spec'),
                status: STATUS[kind],
              },
            },
          },
        },
      ],
    },
  };
}

/** The three CRDs as files: name → YAML text. */
export function crdFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const kind of Object.keys(KIND_NAMES) as ResourceKind[]) {
    const crd = customResourceDefinition(kind);
    const header = `# Generated from src/resources/schemas/ by \`npm run crds\`; do not edit.\n`;
    files.set(`${KIND_NAMES[kind].plural}.${GROUP}.yaml`, header + stringify(crd, { lineWidth: 0 }));
  }
  return files;
}

const COPIED = new Set(['type', 'description', 'required', 'enum', 'pattern', 'minLength', 'maxLength', 'minProperties', 'maxProperties', 'minItems', 'maxItems', 'minimum', 'maximum', 'format']);
const DROPPED = new Set(['additionalProperties', '$schema', '$id', 'title']);

function structural(schema: JsonSchema, at: string): JsonSchema {
  const out: JsonSchema = {};
  const rules: { rule: string; message: string }[] = [];
  for (const [keyword, value] of Object.entries(schema)) {
    if (DROPPED.has(keyword)) continue;
    if (keyword === 'type' && Array.isArray(value)) {
      if ([...value].sort().join() !== 'integer,string') throw new Error(`${at}: type ${JSON.stringify(value)} has no structural form`);
      out['x-kubernetes-int-or-string'] = true;
    } else if (keyword === 'const') {
      out.enum = [value];
    } else if (keyword === 'properties') {
      out.properties = Object.fromEntries(Object.entries(value as Record<string, JsonSchema>).map(([name, sub]) => [name, structural(sub, `${at}.${name}`)]));
    } else if (keyword === 'items') {
      out.items = structural(value as JsonSchema, `${at}[]`);
    } else if (keyword === 'oneOf') {
      rules.push(celOfOneOfRequired(value as JsonSchema[], at));
    } else if (keyword === 'not') {
      rules.push(celOfNotAllRequired(value as JsonSchema, at));
    } else if (keyword === 'if') {
      rules.push(celOfIfThen(schema, at));
    } else if (keyword === 'then') {
      // converted together with `if`
    } else if (COPIED.has(keyword)) {
      out[keyword] = value;
    } else {
      throw new Error(`${at}: JSON Schema keyword "${keyword}" has no CRD form; teach src/resources/crds.ts`);
    }
  }
  if (out.enum && !out.type) out.type = typeof (out.enum as unknown[])[0] === 'boolean' ? 'boolean' : 'string';
  if (!out.type && !out['x-kubernetes-int-or-string']) throw new Error(`${at}: a structural schema needs a type`);
  // An object with no declared fields (a JWK) keeps whatever fields it has; the service validates it.
  if (out.type === 'object' && !out.properties) out['x-kubernetes-preserve-unknown-fields'] = true;
  if (rules.length) out['x-kubernetes-validations'] = rules;
  return out;
}

/** `oneOf: [{required: [A]}, {required: [B]}]` → exactly one of A, B is set. */
function celOfOneOfRequired(choices: JsonSchema[], at: string): { rule: string; message: string } {
  const fields = choices.map((choice) => {
    const required = choice.required as string[] | undefined;
    if (Object.keys(choice).length !== 1 || required?.length !== 1) throw new Error(`${at}: only oneOf of single required fields has a CRD form`);
    return required[0]!;
  });
  const set = fields.map((field) => `(has(self.${field}) ? 1 : 0)`).join(' + ');
  return { rule: `${set} == 1`, message: `exactly one of ${fields.join(', ')} must be set` };
}

/** `not: {required: [A, B]}` → at most one of A, B is set. */
function celOfNotAllRequired(schema: JsonSchema, at: string): { rule: string; message: string } {
  const required = schema.required as string[] | undefined;
  if (Object.keys(schema).length !== 1 || !required || required.length < 2) throw new Error(`${at}: only "not: {required: [A, B…]}" has a CRD form`);
  return { rule: `!(${required.map((field) => `has(self.${field})`).join(' && ')})`, message: `at most one of ${required.join(', ')} may be set` };
}

/** `if: {not: {properties: {X: {const: V}}}}, then: {required: [R…]}` → `self.X == 'V' || has(self.R)…`. */
function celOfIfThen(schema: JsonSchema, at: string): { rule: string; message: string } {
  const condition = (schema.if as { not?: { properties?: Record<string, { const?: unknown }> } }).not?.properties;
  const required = (schema.then as { required?: string[] } | undefined)?.required;
  const entries = condition ? Object.entries(condition) : [];
  if (entries.length !== 1 || typeof entries[0]![1].const !== 'string' || !required?.length || Object.keys(schema.then as object).length !== 1) {
    throw new Error(`${at}: only "if not X == const then required [...]" converts to CEL; teach src/resources/crds.ts`);
  }
  const [field, { const: value }] = entries[0]! as [string, { const: string }];
  const has = required.map((name) => `has(self.${name})`).join(' && ');
  return { rule: `self.${field} == '${value}' || (${has})`, message: `${required.join(', ')} ${required.length === 1 ? 'is' : 'are'} required unless ${field} is ${value}` };
}
