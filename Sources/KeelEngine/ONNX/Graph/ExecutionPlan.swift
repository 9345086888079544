import KeelCore

/// The result of planning a graph at load: an ordered list of steps over numbered value
/// slots, constants resolved, and when each slot's buffer can be dropped. Immutable, so one
/// plan serves any number of concurrent `run` calls, each with its own slots.
struct ExecutionPlan: Sendable {
    /// A value reference: a slot (>= 0), an absent optional input (-1) or constant k (-2 - k).
    typealias Ref = Int
    static let absent: Ref = -1

    struct Step: Sendable {
        let kernel: any ONNXKernel
        let label: String
        let inputs: [Ref]
        /// Slot per output; -1 for outputs nobody reads.
        let outputs: [Int]
        /// Slots whose last reader is this step: emptied before it runs, which frees their
        /// buffers early and lets the kernel own a uniquely referenced input.
        let releases: [Int]
    }

    struct Input: Sendable {
        let signature: TensorSignature
        let slot: Int
    }

    let slotCount: Int
    let constants: [Tensor]
    let inputs: [Input]
    let outputNames: [String]
    let outputRefs: [Ref]
    let steps: [Step]

    /// Runs the steps on already validated inputs (in `inputs` order).
    func run(_ feeds: [Tensor]) throws(KeelError) -> [Tensor] {
        var slots = [Tensor?](repeating: nil, count: slotCount)
        for (i, input) in inputs.enumerated() { slots[input.slot] = feeds[i] }
        var args: [Tensor?] = []
        for step in steps {
            args.removeAll(keepingCapacity: true)
            for ref in step.inputs {
                args.append(ref >= 0 ? slots[ref] : (ref == Self.absent ? nil : constants[-2 - ref]))
            }
            for r in step.releases { slots[r] = nil }
            let results: [Tensor]
            do {
                results = try step.kernel.run(args)
            } catch {
                throw KeelError(error.code, "\(step.label): \(error.message)")
            }
            guard results.count >= step.outputs.count else {
                throw .init(.internal, "\(step.label) produced \(results.count) outputs, expected \(step.outputs.count)")
            }
            for (k, slot) in step.outputs.enumerated() where slot >= 0 { slots[slot] = results[k] }
        }
        var out: [Tensor] = []
        out.reserveCapacity(outputRefs.count)
        for (k, ref) in outputRefs.enumerated() {
            guard let t = ref >= 0 ? slots[ref] : (ref == Self.absent ? nil : constants[-2 - ref]) else {
                throw .init(.internal, "graph output '\(outputNames[k])' was not computed")
            }
            out.append(t)
        }
        return out
    }
}
