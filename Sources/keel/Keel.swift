import ArgumentParser

/// The `keel` command: server and command-line client in one binary.
@main
struct Keel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keel",
        abstract: "Keel: fast model serving and MLOps.",
        subcommands: [ServeCommand.self, PredictCommand.self, InspectCommand.self, BenchCommand.self, ModelsCommand.self, KeysCommand.self, AuditCommand.self, OpenAPICommand.self, DriftCommand.self, PredictionsCommand.self, FeedbackCommand.self, MonitorCommand.self, RolloutCommand.self, ExperimentCommand.self, BatchCommand.self, MonitoringBenchCommand.self, RouterBenchCommand.self, GRPCBenchCommand.self]
    )

    static func main() async {
        MemoryTuning.apply()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
