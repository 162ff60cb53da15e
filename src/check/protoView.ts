// Decoders that materialise only the fields the service reads from a big Envoy message. Envoy's
// CheckRequest and access-log entries carry whole attribute contexts (peer addresses and
// certificates, TLS sessions, timings, every header); proto-loader's decoder builds an object for
// each of them on every call. A view type is derived at start-up from the official protos
// (protos.ts) inside their own Root, each kept field copied from the official message with its
// number, type and rule (never typed by hand): the fields a view does not name are skipped by
// protobufjs as unknown fields, so what it yields is exactly the official decoding of what it keeps.
import protobuf from 'protobufjs';

/** The fields to keep, by name: `true` keeps a field whole (its official type), a nested Keep keeps part of its message. */
export interface Keep {
  [field: string]: true | Keep;
}

/** proto-loader's conversion options (protos.ts), so a view has the shape wire.ts declares. */
const CONVERSION: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: false, oneofs: true };

/** A copy of an official field (same name, number and rule), of `type`: a view's name or the official type's full name. */
function copyField(field: protobuf.FieldBase, type: string): protobuf.FieldBase {
  if (field instanceof protobuf.MapField) return new protobuf.MapField(field.name, field.id, field.keyType, type);
  return new protobuf.Field(field.name, field.id, type, field.repeated ? 'repeated' : undefined);
}

/** The field's type as a name that resolves from any namespace of the Root. */
const officialTypeName = (field: protobuf.FieldBase): string => (field.resolvedType ? field.resolvedType.fullName : field.type);

/**
 * The decoder of `typeName`'s bytes into the fields `keep` names and nothing else. `root` is a
 * resolved Root of the official protos (protos.ts officialRoot; the view types are added to it
 * under `namespace`). Throws at start-up when a kept field is missing: the Envoy protos changed.
 */
export function viewDecoder<T>(root: protobuf.Root, namespace: string, typeName: string, keep: Keep): (buffer: Buffer) => T {
  const views = root.define(namespace);
  let count = 0;
  const viewOf = (official: protobuf.Type, fields: Keep): string => {
    const view = new protobuf.Type(`${official.name}View${count++}`);
    for (const [name, kept] of Object.entries(fields)) {
      const field: protobuf.FieldBase | undefined = official.fields[name];
      if (!field) throw new Error(`${official.fullName} has no field ${name}: the Envoy protos changed`);
      field.resolve();
      if (kept === true) {
        view.add(copyField(field, officialTypeName(field)));
        continue;
      }
      if (!(field.resolvedType instanceof protobuf.Type)) throw new Error(`${official.fullName}.${name} is not a message: it cannot be kept in part`);
      view.add(copyField(field, viewOf(field.resolvedType, kept)));
    }
    views.add(view);
    return view.name;
  };
  const name = viewOf(root.lookupType(typeName), keep);
  root.resolveAll();
  const type = root.lookupType(`${namespace}.${name}`);
  return (buffer) => type.toObject(type.decode(buffer), CONVERSION) as T;
}
