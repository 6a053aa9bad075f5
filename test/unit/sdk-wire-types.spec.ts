import { readFileSync } from 'node:fs';
import ts from 'typescript';

// The SDK's wire types (packages/client/src/types.ts) and the server's
// OpenAPI document describe the same JSON: this reads both — the types
// through the TypeScript compiler — and fails on any difference in a field's
// name, presence, type or nullability, so that neither can drift.

type Schema = {
  $ref?: string;
  type?: string;
  nullable?: boolean;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
};

const openapi = JSON.parse(readFileSync('docs/openapi.json', 'utf8')) as {
  components: { schemas: Record<string, Schema> };
  paths: Record<string, Record<string, Operation>>;
};
type Operation = {
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
};

const answer = (path: string, method: string, status: string): Schema =>
  openapi.paths[path][method].responses[status].content!['application/json'].schema;
const requestBody = (path: string, method: string): Schema =>
  openapi.paths[path][method].requestBody!.content['application/json'].schema;
const component = (name: string): Schema => openapi.components.schemas[name];

/**
 * Each SDK type and the schema of the JSON it stands for; a type may add
 * fields of the SDK's own (named here), never change the wire's.
 */
const WIRE_TYPES: [string, Schema, string[]?][] = [
  ['CreatedDevice', component('CreatedDevice')],
  ['DirectoryDevice', component('DirectoryDevice')],
  ['DirectoryEntry', component('DirectoryEntry')],
  ['InboxMessage', component('InboxMessage')],
  // The SDK adds the clientMessageId it sent (the server's answer does not repeat it).
  ['Accepted', component('Accepted'), ['clientMessageId']],
  ['DeviceSummary', answer('/v1/devices', 'get', '200').properties!.devices.items!],
  ['MessageStatus', answer('/v1/messages/{messageId}/status', 'get', '200')],
  ['Conversation', answer('/v1/conversations/{id}', 'get', '200')],
  ['ConversationPage', answer('/v1/conversations', 'get', '200')],
  ['TurnCredentials', answer('/v1/calls/turn', 'get', '200')],
  ['WebPushSubscription', requestBody('/v1/devices/self/push', 'put')],
];

const program = ts.createProgram(['packages/client/src/types.ts'], {
  strict: true,
  target: ts.ScriptTarget.ES2023,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  skipLibCheck: true,
  types: [],
});
const checker = program.getTypeChecker();

function sdkType(name: string, file = 'packages/client/src/types.ts'): ts.Type {
  const source = program.getSourceFile(file)!;
  for (const statement of source.statements) {
    if (
      (ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) &&
      statement.name.text === name
    )
      return checker.getTypeAtLocation(statement.name);
  }
  throw new Error(`${file} declares no type ${name}`);
}

function resolve(schema: Schema): Schema {
  if (!schema.$ref) return schema;
  return component(schema.$ref.replace('#/components/schemas/', ''));
}

/** The differences between a TypeScript type and a schema, each with its path. */
function wireDifferences(type: ts.Type, rawSchema: Schema, at: string): string[] {
  const schema = resolve(rawSchema);
  if (type.flags & (ts.TypeFlags.Unknown | ts.TypeFlags.Any)) return [];
  const members = type.isUnion() ? type.types : [type];
  const present = members.filter(
    (member) => !(member.flags & (ts.TypeFlags.Null | ts.TypeFlags.Undefined)),
  );
  const differences: string[] = [];
  const tsNullable = members.some((member) => member.flags & ts.TypeFlags.Null);
  if (tsNullable !== (schema.nullable === true))
    differences.push(
      `${at}: ${tsNullable ? 'nullable in the SDK only' : 'nullable on the wire only'}`,
    );

  const kinds = new Set(present.map(kindOf));
  const kind = kinds.size === 1 ? [...kinds][0] : `one of ${[...kinds].join(', ')}`;
  const wireKind = schema.type === 'integer' ? 'number' : (schema.type ?? 'object');
  if (kind !== wireKind)
    return [...differences, `${at}: ${kind} in the SDK, ${wireKind} on the wire`];

  if (kind === 'string' && schema.enum && present.every((member) => member.isStringLiteral())) {
    const sdkValues = present.map((member) => member.value).sort();
    const wireValues = [...(schema.enum as string[])].sort();
    if (sdkValues.join() !== wireValues.join())
      differences.push(
        `${at}: values ${sdkValues.join('|')} in the SDK, ${wireValues.join('|')} on the wire`,
      );
  }
  if (kind === 'array') {
    const element = checker.getTypeArguments(present[0] as ts.TypeReference)[0];
    differences.push(...wireDifferences(element, schema.items ?? {}, `${at}[]`));
  }
  if (kind === 'object') {
    const wireProperties = schema.properties ?? {};
    const required = new Set(schema.required ?? []);
    const sdkProperties = checker.getPropertiesOfType(present[0]);
    for (const property of sdkProperties) {
      const name = property.getName();
      const wire = wireProperties[name];
      if (!wire) {
        differences.push(`${at}.${name}: in the SDK, not on the wire`);
        continue;
      }
      const optional = (property.flags & ts.SymbolFlags.Optional) !== 0;
      if (optional === required.has(name))
        differences.push(
          `${at}.${name}: ${optional ? 'optional in the SDK, always on the wire' : 'always there in the SDK, optional on the wire'}`,
        );
      differences.push(
        ...wireDifferences(checker.getTypeOfSymbol(property), wire, `${at}.${name}`),
      );
    }
    for (const name of Object.keys(wireProperties))
      if (!sdkProperties.some((property) => property.getName() === name))
        differences.push(`${at}.${name}: on the wire, not in the SDK`);
  }
  return differences;
}

function kindOf(type: ts.Type): string {
  if (type.flags & ts.TypeFlags.StringLike) return 'string';
  if (type.flags & ts.TypeFlags.NumberLike) return 'number';
  if (type.flags & ts.TypeFlags.BooleanLike) return 'boolean';
  if (checker.isArrayType(type)) return 'array';
  if (type.flags & ts.TypeFlags.Object) return 'object';
  return checker.typeToString(type);
}

describe("the SDK's wire types against the OpenAPI document", () => {
  it.each(WIRE_TYPES)('%s matches its schema', (name, schema, sdkOnly = []) => {
    const ownFields = sdkOnly.map((field) => `${name}.${field}: in the SDK, not on the wire`);
    expect(wireDifferences(sdkType(name), schema, name)).toEqual(ownFields);
  });

  it('finds a field that drifted (renamed, retyped, made optional or nullable)', () => {
    const drifted = structuredClone(component('InboxMessage'));
    drifted.properties!.sentAt = drifted.properties!.acceptedAt;
    delete drifted.properties!.acceptedAt;
    drifted.properties!.body = { type: 'integer' };
    drifted.required = drifted.required!.filter((name) => name !== 'wrappedKey');
    drifted.properties!.expiresAt = { ...drifted.properties!.expiresAt, nullable: true };
    expect(wireDifferences(sdkType('InboxMessage'), drifted, 'InboxMessage').sort()).toEqual(
      [
        'InboxMessage.acceptedAt: in the SDK, not on the wire',
        'InboxMessage.sentAt: on the wire, not in the SDK',
        'InboxMessage.body: string in the SDK, number on the wire',
        'InboxMessage.wrappedKey: always there in the SDK, optional on the wire',
        'InboxMessage.expiresAt: nullable on the wire only',
      ].sort(),
    );
  });
});
