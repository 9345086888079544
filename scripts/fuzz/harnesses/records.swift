import KeelCore
import KeelServing

/// The records mapping: `{"instances": […]}` bodies through the churn feature schema
/// (models/churn/config.yaml, or $KEEL_FUZZ_CHURN_CONFIG), in both layouts. The body is
/// decoded as `RecordPredictor.decodeInstances` does (that type needs the whole server).
let churnSchemas: [FeatureSchema] = {
    let path = ProcessInfoLite.environment("KEEL_FUZZ_CHURN_CONFIG") ?? "models/churn/config.yaml"
    guard let text = readFile(path), let schema = try? ModelConfig.parse(yaml: text, source: path).featureSchema else {
        fatalError("cannot read the churn feature schema from \(path)")
    }
    var schemas = [schema]
    if let perField = try? FeatureSchema(fields: schema.fields, layout: .perField, passthrough: schema.passthrough) {
        schemas.append(perField)
    }
    return schemas
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecords(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    guard let doc = try? JSONParser.parse(bytes, errorCode: .invalidInput, numericArrays: .values),
          let instances = doc["instances"]?.arrayValue, !instances.isEmpty, instances.count <= 10_000 else { return 0 }
    let records = instances.compactMap(\.objectValue)
    guard records.count == instances.count else { return 0 }
    for schema in churnSchemas {
        guard let tensors = try? schema.encode(records) else { continue }
        for (name, t) in tensors where t.shape.first != records.count {
            fatalError("input '\(name)' has \(t.shape) for \(records.count) records")
        }
    }
    return 0
}
