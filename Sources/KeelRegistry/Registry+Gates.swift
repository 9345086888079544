import Foundation
import KeelCore
import KeelStore

/// Promotion gates: set, replaced, removed and checked.
extension Registry {
    public func gates(_ model: String) async throws(KeelError) -> [Gate] {
        try await store.read { db throws(KeelError) in
            guard try await db.model(named: model) != nil else { throw KeelError.notFound("unknown model '\(model)'") }
            return try await Self.gates(in: db, model)
        }
    }

    static func gates(in db: any StoreSnapshot, _ model: String) async throws(KeelError) -> [Gate] {
        var out: [Gate] = []
        for record in try await db.gates(model: model) { out.append(try Gate(record)) }
        return out
    }

    /// Sets a gate from its text form (`roc_auc >= 0.85`, `… reported-ok`), replacing the one
    /// with the same metric and operator; `acceptReported` (the API's `accept_reported`) has
    /// the same effect as the `reported-ok` suffix.
    @discardableResult
    public func setGate(_ model: String, _ expression: String, acceptReported: Bool = false, by actor: Principal) async throws(KeelError) -> Gate {
        var gate = try Gate.parse(expression)
        if acceptReported { gate.acceptReported = true }
        let record = GateRecord(
            model: model, metric: gate.metric, op: gate.op.rawValue, threshold: gate.threshold, acceptReported: gate.acceptReported,
            createdBy: actor.actor)
        try await store.write { tx throws(KeelError) in
            guard try await tx.lockModel(named: model) != nil else { throw KeelError.notFound("unknown model '\(model)'") }
            let previous = try await tx.setGate(record)
            let before = try previous.map { (old: GateRecord) throws(KeelError) in try Gate(old).description }
            try await tx.appendAudit(AuditEventRecord(by: actor, action: "gate.set", target: model, before: before, after: gate.description))
        }
        return gate
    }

    /// Removes a gate given as `metric op` or a full expression (its threshold is ignored).
    public func removeGate(_ model: String, _ expression: String, by actor: Principal) async throws(KeelError) {
        try await store.write { tx throws(KeelError) in
            guard try await tx.lockModel(named: model) != nil else { throw KeelError.notFound("unknown model '\(model)'") }
            let existing = try await Self.gates(in: tx, model)
            let text = expression.trimmingCharacters(in: .whitespaces)
            let gate = (try? Gate.parse(text)) ?? existing.first { "\($0.metric) \($0.op.rawValue)" == text || $0.metric == text }
            guard let gate, let found = existing.first(where: { $0.metric == gate.metric && $0.op == gate.op }) else {
                throw KeelError.notFound("model '\(model)' has no gate '\(expression.prefix(Gate.maximumTextLength))' (gates: \(existing.map(\.description).joined(separator: ", ")))")
            }
            try await tx.removeGate(model: model, metric: found.metric, op: found.op.rawValue)
            try await tx.appendAudit(AuditEventRecord(by: actor, action: "gate.remove", target: model, before: found.description))
        }
    }

    /// Every gate of the model checked against a version's metrics.
    public func checkGates(_ model: String, _ version: ModelVersionRecord) async throws(KeelError) -> [GateResult] {
        try await gates(model).map { $0.check(version) }
    }
}
