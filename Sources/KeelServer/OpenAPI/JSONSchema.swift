import KeelCore

/// A JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1) as the API document writes it: a
/// thin builder over `JSONValue`, so route declarations can say what they take and return.
public struct JSONSchema: Sendable, Equatable {
    public var value: JSONValue

    public init(_ value: JSONValue) {
        self.value = value
    }

    /// A local reference to a component schema (`#/components/schemas/<name>`).
    public static func ref(_ component: String) -> JSONSchema {
        JSONSchema(.object(["$ref": .string("#/components/schemas/\(component)")]))
    }

    /// Any JSON value.
    public static let any = JSONSchema(.object([:]))
    public static let boolean = JSONSchema(.object(["type": "boolean"]))
    public static let number = JSONSchema(.object(["type": "number"]))
    public static let integer = JSONSchema(.object(["type": "integer"]))
    public static let string = JSONSchema(.object(["type": "string"]))
    /// An ISO 8601 time as the management API writes it.
    public static let dateTime = JSONSchema(.object(["type": "string", "format": "date-time"]))

    public static func string(pattern: String? = nil, minLength: Int? = nil, maxLength: Int? = nil, oneOf values: [String]? = nil) -> JSONSchema {
        var o: [String: JSONValue] = ["type": "string"]
        if let pattern { o["pattern"] = .string(pattern) }
        if let minLength { o["minLength"] = .number(Double(minLength)) }
        if let maxLength { o["maxLength"] = .number(Double(maxLength)) }
        if let values { o["enum"] = .array(values.map { .string($0) }) }
        return JSONSchema(.object(o))
    }

    public static func integer(minimum: Int? = nil, maximum: Int? = nil) -> JSONSchema {
        var o: [String: JSONValue] = ["type": "integer"]
        if let minimum { o["minimum"] = .number(Double(minimum)) }
        if let maximum { o["maximum"] = .number(Double(maximum)) }
        return JSONSchema(.object(o))
    }

    public static func array(_ items: JSONSchema, minItems: Int? = nil) -> JSONSchema {
        var o: [String: JSONValue] = ["type": "array", "items": items.value]
        if let minItems { o["minItems"] = .number(Double(minItems)) }
        return JSONSchema(.object(o))
    }

    /// An object with named properties. Unknown properties are allowed unless `closed`
    /// (responses may gain fields; a request is only closed where the server refuses extras).
    public static func object(_ properties: [String: JSONSchema], required: [String] = [], closed: Bool = false) -> JSONSchema {
        var o: [String: JSONValue] = ["type": "object", "properties": .object(properties.mapValues(\.value))]
        if !required.isEmpty { o["required"] = .array(required.sorted().map { .string($0) }) }
        if closed { o["additionalProperties"] = .bool(false) }
        return JSONSchema(.object(o))
    }

    /// An object used as a map: any keys, each value of this schema.
    public static func map(_ values: JSONSchema) -> JSONSchema {
        JSONSchema(.object(["type": "object", "additionalProperties": values.value]))
    }

    /// A value matching any of these schemas.
    public static func anyOf(_ schemas: [JSONSchema]) -> JSONSchema {
        JSONSchema(.object(["anyOf": .array(schemas.map(\.value))]))
    }

    /// The same schema, also allowing `null` (`type: [T, "null"]` where there is one type).
    public var orNull: JSONSchema {
        if case .object(var o) = value, let type = o["type"]?.stringValue {
            o["type"] = .array([.string(type), "null"])
            return JSONSchema(.object(o))
        }
        return .anyOf([self, JSONSchema(.object(["type": "null"]))])
    }

    /// The same schema with a description.
    public func described(_ text: String) -> JSONSchema {
        guard case .object(var o) = value else { return self }
        if o["$ref"] != nil {
            // Siblings of $ref are allowed in 2020-12, but a wrapper reads more clearly in tools.
            return JSONSchema(.object(["allOf": .array([value]), "description": .string(text)]))
        }
        o["description"] = .string(text)
        return JSONSchema(.object(o))
    }

    /// The same schema with a JSON example value.
    public func example(_ example: JSONValue) -> JSONSchema {
        guard case .object(var o) = value else { return self }
        o["examples"] = .array([example])
        return JSONSchema(.object(o))
    }
}
