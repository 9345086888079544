/// The documented limits of tree models (docs/trees.md, "Limits"): beyond them a model file
/// is refused at load, before anything is allocated from the declared count.
public enum TreeLimits {
    /// Input features (`num_feature`, `max_feature_idx + 1`): 2^24, far beyond tabular data,
    /// small enough that feature indexes fit the evaluator's Int32 node fields.
    public static let maxFeatures = 1 << 24
    /// Outputs (`num_class`, `num_target`, `num_tree_per_iteration`, ONNX targets): 2^16.
    public static let maxOutputs = 1 << 16
    /// Nodes of a whole ensemble: node indexes are Int32 in the flat layout.
    public static let maxNodes = Int(Int32.max) - 1
    /// Categories of a categorical split are 0 ..< 2^24 (a float holds every such integer exactly).
    public static let maxCategory = 1 << 24
}
