import Foundation
import KeelCore
import KeelRegistry
import KeelStore

/// JSON shapes of the management API (snake_case keys, ISO 8601 times).
enum Views {
    static func time(_ d: Date) -> JSONValue { .string(ISO8601DateFormatter().string(from: d)) }
    static func strings(_ d: [String: String]) -> JSONValue { .object(d.mapValues { .string($0) }) }
    static func numbers(_ d: [String: Double]) -> JSONValue { .object(d.mapValues { .number($0) }) }
    static func optional(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }
    static func int(_ i: Int) -> JSONValue { .number(Double(i)) }

    static func model(_ m: RegisteredModelRecord, aliases: [AliasRecord]? = nil) -> JSONValue {
        var o: [String: JSONValue] = [
            "name": .string(m.name), "description": .string(m.description), "tags": strings(m.tags), "owner": .string(m.owner),
            "latest_version": int(m.lastVersion), "created_at": time(m.createdAt), "updated_at": time(m.updatedAt),
        ]
        if let aliases { o["aliases"] = .object(Dictionary(uniqueKeysWithValues: aliases.map { ($0.alias, int($0.version)) })) }
        return .object(o)
    }

    static func version(_ v: ModelVersionRecord, aliases: [AliasRecord] = []) -> JSONValue {
        let signature = (try? JSONParser.parse(Array(v.signature.utf8), errorCode: .internal)) ?? .object([:])
        return .object([
            "model": .string(v.model), "version": int(v.version), "artifact_sha256": .string(v.artifactSHA256),
            "format": .string(v.format), "size_bytes": int(v.sizeBytes), "filename": .string(v.filename), "signature": signature,
            "metrics": numbers(v.metrics), "reported_metrics": numbers(v.reportedMetrics), "params": strings(v.params), "tags": strings(v.tags), "description": .string(v.description),
            "training_data": optional(v.trainingData), "schema_yaml": optional(v.configYAML), "status": .string(v.status.rawValue),
            "aliases": .array(aliases.filter { $0.version == v.version }.map { .string($0.alias) }),
            "created_by": .string(v.createdBy), "created_at": time(v.createdAt),
        ])
    }

    static func alias(_ a: AliasRecord) -> JSONValue {
        .object(["alias": .string(a.alias), "version": int(a.version), "updated_by": .string(a.updatedBy), "updated_at": time(a.updatedAt)])
    }

    static func move(_ m: AliasMoveRecord) -> JSONValue {
        .object([
            "model": .string(m.model), "alias": .string(m.alias), "from": m.from.map(int) ?? .null, "to": m.to.map(int) ?? .null,
            "moved_by": .string(m.movedBy), "forced": .bool(m.forced), "moved_at": time(m.movedAt),
        ])
    }

    static func gate(_ g: Gate) -> JSONValue {
        .object([
            "gate": .string(g.description), "metric": .string(g.metric), "op": .string(g.op.rawValue), "threshold": .number(g.threshold),
            "accept_reported": .bool(g.acceptReported),
        ])
    }

    static func gateResult(_ r: GateResult) -> JSONValue {
        .object([
            "gate": .string(r.gate.description), "passed": .bool(r.passed), "value": r.value.map { .number($0) } ?? .null,
            "source": r.source.map { .string($0.rawValue) } ?? .null, "reason": .string(r.reason),
        ])
    }

    static func key(_ k: APIKeyRecord) -> JSONValue {
        .object([
            "id": .string(k.id), "name": .string(k.name), "role": .string(k.role), "created_by": .string(k.createdBy),
            "created_at": time(k.createdAt), "revoked_at": k.revokedAt.map(time) ?? .null,
            "expires_at": k.expiresAt.map(time) ?? .null, "models": k.models.map { .array($0.map(JSONValue.string)) } ?? .null,
        ])
    }

    static func audit(_ e: AuditEventRecord) -> JSONValue {
        .object([
            "id": .number(Double(e.id)), "actor": .string(e.actor), "action": .string(e.action), "target": .string(e.target),
            "before": optional(e.before), "after": optional(e.after), "at": time(e.at),
            "address": optional(e.address), "request_id": optional(e.requestID),
        ])
    }

    static func comparison(_ c: VersionComparison) -> JSONValue {
        .object([
            "versions": .array(c.versions.map(int)),
            "metrics": .array(c.metrics.map { name in
                .object([
                    "metric": .string(name),
                    "values": .object(Dictionary(uniqueKeysWithValues: (c.values[name] ?? [:]).map { (String($0.key), JSONValue.number($0.value)) })),
                    "best": c.best[name].map(int) ?? .null,
                ])
            }),
        ])
    }
}

/// Reading fields of a JSON request body with clear errors.
struct JSONBody {
    let value: [String: JSONValue]

    init(_ bytes: [UInt8]) throws(KeelError) {
        if bytes.isEmpty {
            value = [:]
            return
        }
        guard let object = try JSONParser.parse(bytes, errorCode: .invalidInput).objectValue else {
            throw KeelError.invalidInput("request body must be a JSON object")
        }
        value = object
    }

    func string(_ key: String) throws(KeelError) -> String? {
        guard let v = value[key], v != .null else { return nil }
        guard let s = v.stringValue else { throw KeelError.invalidInput("'\(key)' must be a string") }
        return s
    }

    func requiredString(_ key: String) throws(KeelError) -> String {
        guard let s = try string(key) else { throw KeelError.invalidInput("missing '\(key)'") }
        return s
    }

    func int(_ key: String) throws(KeelError) -> Int? {
        guard let v = value[key], v != .null else { return nil }
        guard let i = v.intValue else { throw KeelError.invalidInput("'\(key)' must be an integer") }
        return i
    }

    /// A list of strings (at most `limit` of them).
    func stringList(_ key: String, limit: Int) throws(KeelError) -> [String]? {
        guard let v = value[key], v != .null else { return nil }
        guard let items = v.arrayValue, items.count <= limit else {
            throw KeelError.invalidInput("'\(key)' must be a list of at most \(limit) strings")
        }
        var out: [String] = []
        for item in items {
            guard let s = item.stringValue else { throw KeelError.invalidInput("'\(key)' must be a list of strings") }
            out.append(s)
        }
        return out
    }

    func bool(_ key: String) throws(KeelError) -> Bool {
        guard let v = value[key], v != .null else { return false }
        guard case .bool(let b) = v else { throw KeelError.invalidInput("'\(key)' must be true or false") }
        return b
    }

    func strings(_ key: String) throws(KeelError) -> [String: String]? {
        guard let v = value[key], v != .null else { return nil }
        guard let o = v.objectValue else { throw KeelError.invalidInput("'\(key)' must be an object of strings") }
        var out: [String: String] = [:]
        for (k, x) in o {
            guard let s = x.stringValue ?? x.doubleValue.map({ Gate.format($0) }) else { throw KeelError.invalidInput("'\(key).\(k)' must be a string") }
            out[k] = s
        }
        return out
    }

    func numbers(_ key: String) throws(KeelError) -> [String: Double]? {
        guard let v = value[key], v != .null else { return nil }
        guard let o = v.objectValue else { throw KeelError.invalidInput("'\(key)' must be an object of numbers") }
        var out: [String: Double] = [:]
        for (k, x) in o {
            guard case .number(let d) = x else { throw KeelError.invalidInput("metric '\(k)' must be a number") }
            out[k] = d
        }
        return out
    }
}
