import Foundation
import KeelCore

/// What answered a request: the version itself, its cached answer, or its fallback.
struct Answer: Sendable {
    /// Who gave a fallback answer.
    enum Fallback: Sendable {
        /// Another served model's version (`fallback: {model: …}`).
        case model(ServedVersion)
        /// The static default answer of the version's config.
        case staticAnswer

        /// The fallback model's version, if a model answered.
        var model: ServedVersion? {
            if case .model(let v) = self { return v }
            return nil
        }
    }

    var outputs: [String: Tensor]
    /// The answer came from the version's prediction cache.
    var cached = false
    /// Set when a fallback answered instead of the version.
    var fallback: Fallback?

    /// The fallback model's version that answered, if one did.
    var fallbackVersion: ServedVersion? { fallback?.model }

    /// v2 response parameters marking a fallback answer (empty otherwise).
    var responseParameters: [String: JSONValue] {
        guard let fallback else { return [:] }
        guard case .model(let v) = fallback else { return ["fallback": .bool(true)] }
        return ["fallback": .bool(true), "fallback_model": .string(v.modelName), "fallback_version": .string(v.version)]
    }
}

extension InferenceService {
    /// Runs a version through its prediction cache, circuit breaker and fallback, each when
    /// configured; `run` is the plain call of the version. A cache hit answers without running
    /// it; an open breaker sends the request to the fallback (503 without one); a run that fails
    /// server-side (status >= 500) counts against the breaker and is also answered by the
    /// fallback when there is one. Malformed requests fail as they would without any of this:
    /// they are never cached, counted or answered by a fallback.
    func resilient(
        _ served: ServedVersion, _ inputs: [String: Tensor], records: [[String: JSONValue]]?, run: () async throws(KeelError) -> [String: Tensor]
    ) async throws(KeelError) -> Answer {
        let r = served.resilience
        guard r.isEnabled else { return Answer(outputs: try await run()) }
        do {
            try served.validate(inputs)
        } catch {
            served.metrics.failure(reason: error.code.rawValue)  // as the plain path counts it
            throw error
        }
        let key = r.cache?.key(inputs)
        if let key, let cache = r.cache {
            let lookedUp = ContinuousClock.now
            let hit = cache.lookup(key)
            let took = ContinuousClock.now - lookedUp
            served.metrics.statistics.cacheLookup(hit: hit != nil, took)
            if let hit {
                served.metrics.statistics.succeeded(after: took, rows: inputs.values.first?.shape.first ?? 0)
                return Answer(outputs: hit, cached: true)
            }
        }
        let permit = r.breaker?.admit() ?? .pass
        if case .reject(let retryAfter) = permit {
            let wait = retryAfter > .zero ? "for about \(Self.seconds(retryAfter)) s more" : "while a probe request tries the version"
            let open = KeelError(
                .unavailable, "model '\(served.modelName)' version \(served.version) is failing: its circuit breaker is open \(wait)")
            return try await fallback(served, inputs, records: records, because: open)
        }
        let started = ContinuousClock.now
        do {
            let outputs = try await run()
            r.breaker?.record(.success, latency: .now - started, permit: permit)
            if let key { r.cache?.store(key, outputs) }
            return Answer(outputs: outputs)
        } catch {
            let serverSide = error.httpStatus >= 500
            r.breaker?.record(serverSide ? .failure : .neutral, latency: .now - started, permit: permit)
            guard serverSide, r.fallback != nil else { throw error }
            return try await fallback(served, inputs, records: records, because: error)
        }
    }

    /// The fallback's answer, or `failure` (completed with the fallback's own error) when there
    /// is none or it fails too. A fallback model runs as it is, never through its own breaker
    /// or fallback, so fallbacks cannot chain or loop. Records are encoded through the fallback
    /// model's own feature schema when it has one.
    private func fallback(_ served: ServedVersion, _ inputs: [String: Tensor], records: [[String: JSONValue]]?, because failure: KeelError) async throws(KeelError) -> Answer {
        let r = served.resilience
        switch r.fallback {
        case nil:
            throw failure
        case .outputs:
            guard let answer = r.staticAnswer else { throw failure }
            r.fallbacks?.increment()
            return Answer(outputs: answer.tensors(rows: records?.count ?? inputs.values.first?.shape.first ?? 0), fallback: .staticAnswer)
        case .model(let name, let version):
            let what = "its fallback model '\(name)'\(version.map { " version \($0)" } ?? "")"
            let other: ServedVersion
            do {
                other = try manager.resolve(name, version: version)
            } catch {
                throw KeelError(failure.code, "\(failure.message); \(what) cannot serve: \(error.message)")
            }
            guard other !== served else { throw failure }
            do {
                var given = inputs
                if let records, let schema = other.config.featureSchema { given = try schema.encode(records) }
                let outputs = try await other.infer(given)
                r.fallbacks?.increment()
                return Answer(outputs: outputs, fallback: .model(other))
            } catch {
                throw KeelError(failure.code, "\(failure.message); \(what) failed too: \(error.message)")
            }
        }
    }

    /// Times the circuit breaker of a model's version has opened since the version loaded (0
    /// without a breaker or when the version is not loaded): a rollout can treat a candidate
    /// whose count rose as a failed check.
    public func breakerTrips(model: String, version: String) -> Int64 {
        manager.served(model, version: version)?.resilience.breaker?.trips ?? 0
    }

    /// Whether the circuit breaker of a model's version is open or half-open now.
    public func breakerTripped(model: String, version: String) -> Bool {
        guard let state = manager.served(model, version: version)?.resilience.breaker?.state else { return false }
        return state != .closed
    }

    private static func seconds(_ d: Duration) -> String {
        let (s, atto) = d.components
        return String(format: "%.1f", Double(s) + Double(atto) / 1e18)
    }
}
