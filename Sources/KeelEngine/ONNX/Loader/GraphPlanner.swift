import KeelCore

/// Checks a whole ONNX graph once, at load, and turns it into an `ExecutionPlan`: every op
/// supported (all unsupported ones reported together), topological order, kernels compiled
/// with static types and shapes, constant subgraphs folded, slot lifetimes planned.
struct GraphPlanner {
    let graph: ONNXGraphProto
    let opsets: [String: Int]
    let budget: LoadBudget

    private var constants: [String: Tensor] = [:]
    private var infos: [String: ValueInfo] = [:]

    /// Bytes per element a fold may need at its peak: the result (up to 8 bytes), an index
    /// per element (gather-style kernels) and a copy of an input.
    private static let foldBytesPerElement = 24

    init(graph: ONNXGraphProto, opsets: [String: Int], budget: LoadBudget) {
        self.graph = graph
        self.opsets = opsets
        self.budget = budget
    }

    /// Plans the graph; `declaredOutputs` receives each output's declared info and kind.
    mutating func plan() throws(KeelError) -> (plan: ExecutionPlan, outputInfos: [ValueInfo]) {
        if let sparse = graph.sparseInitializer.first {
            throw .unsupported("sparse initializer '\(sparse.values.name)' is not supported; store it dense")
        }
        for initializer in graph.initializer {
            let tensor = try TensorDecoder.decode(initializer, what: "initializer '\(initializer.name)'")
            try budget.charge(TensorCost.bytes(tensor), of: 1, for: "initializer '\(initializer.name)'")
            constants[initializer.name] = tensor
            infos[initializer.name] = ValueInfo(tensor.dataType, tensor.shape)
        }

        // Graph inputs that are not initializers are what callers feed.
        var inputNames: [String] = []
        var signatures: [TensorSignature] = []
        for input in graph.input where constants[input.name] == nil {
            let (info, kind) = ModelDecoder.valueInfo(input)
            guard let type = info.dataType, let shape = info.shape else {
                if kind == "tensor" {
                    throw .invalidModel("graph input '\(input.name)' has no shape; expected a tensor type with a shape")
                }
                throw .unsupported("graph input '\(input.name)' is a \(kind); Keel accepts tensor inputs only")
            }
            guard !inputNames.contains(input.name) else { throw .invalidModel("graph input '\(input.name)' is declared twice") }
            inputNames.append(input.name)
            signatures.append(TensorSignature(name: input.name, dataType: type, shape: shape))
            infos[input.name] = info
        }

        try checkOperatorsSupported()
        let order = try topologicalOrder(available: Set(inputNames).union(constants.keys))

        var slotOf: [String: Int] = [:]
        var slotCount = 0
        for name in inputNames { slotOf[name] = slotCount; slotCount += 1 }
        var constantList: [Tensor] = []
        var constantRef: [String: ExecutionPlan.Ref] = [:]
        func ref(_ name: String) -> ExecutionPlan.Ref {
            if name.isEmpty { return ExecutionPlan.absent }
            if let s = slotOf[name] { return s }
            if let r = constantRef[name] { return r }
            // topologicalOrder proved every input exists; an absent one reads as missing.
            guard let constant = constants[name] else { return ExecutionPlan.absent }
            constantList.append(constant)
            let r = -2 - (constantList.count - 1)
            constantRef[name] = r
            return r
        }

        struct Draft { var kernel: any ONNXKernel; var label: String; var inputs: [ExecutionPlan.Ref]; var outputs: [Int] }
        var drafts: [Draft] = []
        for index in order {
            let node = graph.node[index]
            let label = "node '\(node.name.isEmpty ? node.output.first ?? "?" : node.name)' (\(node.opType))"
            let domain = KernelRegistry.normalize(domain: node.domain)
            let opset = opsets[domain] ?? 0
            guard let registration = KernelRegistry.lookup(domain: domain, opType: node.opType, opset: opset) else {
                throw .unsupported("\(label) is not supported")  // checkOperatorsSupported already reported these
            }
            let context = NodeContext(
                name: node.name.isEmpty ? (node.output.first ?? "") : node.name, opType: node.opType,
                domain: domain, opset: opset, attributes: try NodeAttributes(node, label: label),
                inputs: node.input.map { $0.isEmpty ? nil : (infos[$0] ?? .unknown) },
                constants: node.input.map { $0.isEmpty ? nil : constants[$0] },
                outputCount: node.output.count, budget: budget)
            let compiled = try registration.factory(context)

            let presentInputs = node.input.filter { !$0.isEmpty }
            if compiled.foldable, presentInputs.allSatisfy({ constants[$0] != nil }) {
                // Every input is known now: compute once here instead of on every call.
                // Tensors a fold makes are limited to what the load budget has left, checked
                // by the kernel before it allocates (tiny specs such as ConstantOfShape or
                // Expand could otherwise declare gigabytes).
                let limit = min(ShapeMath.maxElements, max(budget.remaining / Self.foldBytesPerElement, 0))
                let kernel = compiled.kernel
                let inputs = context.constants
                let results: [Tensor]
                do {
                    results = try ShapeMath.$elementLimit.withValue(limit) { try kernel.run(inputs) }
                } catch let error as KeelError {
                    throw .invalidModel("\(label) fails on its constant inputs: \(error.message)")
                } catch {
                    throw .invalidModel("\(label) fails on its constant inputs: \(error)")
                }
                for (k, result) in results.enumerated() {
                    try budget.charge(TensorCost.bytes(result), of: 1, for: "\(label)'s folded output \(k)")
                }
                for (k, name) in node.output.enumerated() where !name.isEmpty && k < results.count {
                    constants[name] = results[k]
                    infos[name] = ValueInfo(results[k].dataType, results[k].shape)
                }
                continue
            }
            var outSlots: [Int] = []
            for (k, name) in node.output.enumerated() {
                if name.isEmpty { outSlots.append(-1); continue }
                slotOf[name] = slotCount
                outSlots.append(slotCount)
                slotCount += 1
                infos[name] = k < compiled.outputs.count ? compiled.outputs[k] : .unknown
            }
            drafts.append(Draft(kernel: compiled.kernel, label: label, inputs: node.input.map(ref), outputs: outSlots))
        }

        var outputNames: [String] = []
        var outputRefs: [ExecutionPlan.Ref] = []
        var outputInfos: [ValueInfo] = []
        for output in graph.output {
            guard slotOf[output.name] != nil || constants[output.name] != nil else {
                throw .invalidModel("graph output '\(output.name)' is not produced by any node, initializer or input")
            }
            outputNames.append(output.name)
            outputRefs.append(ref(output.name))
            outputInfos.append(infos[output.name] ?? .unknown)
        }
        guard !outputNames.isEmpty else { throw .invalidModel("the ONNX graph declares no outputs") }

        // Last reader of each slot; graph outputs live to the end.
        var lastUse = [Int](repeating: -1, count: slotCount)
        for (i, d) in drafts.enumerated() { for r in d.inputs where r >= 0 { lastUse[r] = i } }
        for r in outputRefs where r >= 0 { lastUse[r] = Int.max }
        var releases = [[Int]](repeating: [], count: drafts.count)
        for (slot, step) in lastUse.enumerated() where step >= 0 && step != Int.max { releases[step].append(slot) }

        let steps = drafts.enumerated().map { i, d in
            ExecutionPlan.Step(kernel: d.kernel, label: d.label, inputs: d.inputs, outputs: d.outputs, releases: releases[i])
        }
        let inputs = zip(signatures, inputNames).map { ExecutionPlan.Input(signature: $0, slot: slotOf[$1] ?? 0) }
        let plan = ExecutionPlan(
            slotCount: slotCount, constants: constantList, inputs: inputs, outputNames: outputNames,
            outputRefs: outputRefs, steps: steps)
        return (plan, outputInfos)
    }

    /// Reports every op the model uses that Keel cannot run, in one error.
    private func checkOperatorsSupported() throws(KeelError) {
        var problems: [String] = []
        var seen = Set<String>()
        for node in graph.node {
            let domain = KernelRegistry.normalize(domain: node.domain)
            let entry: String
            if let opset = opsets[domain] {
                if KernelRegistry.lookup(domain: domain, opType: node.opType, opset: opset) != nil { continue }
                entry = "\(node.opType) (domain '\(domain)', opset \(opset))"
            } else {
                entry = "\(node.opType) (domain '\(domain)', which the model does not import)"
            }
            if seen.insert(entry).inserted { problems.append(entry) }
        }
        guard problems.isEmpty else {
            throw .unsupported("the model uses \(problems.count) operator\(problems.count == 1 ? "" : "s") Keel does not support: \(problems.joined(separator: ", "))")
        }
    }

    /// Kahn's algorithm over value names; names the first unresolved input or the cycle.
    private func topologicalOrder(available: Set<String>) throws(KeelError) -> [Int] {
        var producer: [String: Int] = [:]
        for (i, node) in graph.node.enumerated() {
            for name in node.output where !name.isEmpty {
                if available.contains(name) || producer[name] != nil {
                    throw .invalidModel("value '\(name)' is produced twice (by node '\(node.name)' and another node or input)")
                }
                producer[name] = i
            }
        }
        var pending = [Int](repeating: 0, count: graph.node.count)
        var readers: [Int: [Int]] = [:]
        for (i, node) in graph.node.enumerated() {
            for name in Set(node.input) where !name.isEmpty && !available.contains(name) {
                guard let p = producer[name] else {
                    throw .invalidModel("node '\(node.name)' (\(node.opType)) reads '\(name)', which no node, initializer or graph input provides")
                }
                pending[i] += 1
                readers[p, default: []].append(i)
            }
        }
        var ready = (0..<graph.node.count).filter { pending[$0] == 0 }.reversed() as [Int]
        var order: [Int] = []
        order.reserveCapacity(graph.node.count)
        while let i = ready.popLast() {
            order.append(i)
            for r in readers[i] ?? [] {
                pending[r] -= 1
                if pending[r] == 0 { ready.append(r) }
            }
        }
        guard order.count == graph.node.count else {
            let stuck = (0..<graph.node.count).first { pending[$0] > 0 }.map { graph.node[$0].name } ?? "?"
            throw .invalidModel("the graph has a cycle (node '\(stuck)' depends on its own output)")
        }
        return order
    }
}
