import ArgumentParser
import AsyncHTTPClient
import Foundation
import KeelCore
import KeelJobs
import KeelServing
import NIOCore
import NIOHTTP1

/// `keel batch`: score files — on a server as durable jobs (submit, watch, cancel, retry,
/// download), or offline with a model file (`run`).
struct BatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch", abstract: "Batch predictions over CSV and JSON Lines files: jobs on a server, or an offline run.",
        subcommands: [Submit.self, Status.self, List.self, Watch.self, Cancel.self, Retry.self, Download.self, Run.self])

    struct Submit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Submit a job: uploads --input (unless --server-path) and prints the job id, or with --wait follows it and downloads --output.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Model name.") var model: String
        @Option(help: "Input file: .csv, .jsonl or .ndjson, optionally .gz (a local file, uploaded; a server path with --server-path).") var input: String
        @Option(help: "Output file (local, written when the job is done with --wait; a server path with --server-path). Its extension gives the format.") var output: String?
        @Flag(name: .customLong("server-path"), help: "--input and --output are paths on the server, inside its allowed folders.") var serverPath = false
        @Option(help: "Version number to score with (default: what production serves now).") var version: Int?
        @Option(help: "Alias to score with (e.g. staging).") var alias: String?
        @Option(help: "high, normal or low.") var priority: String = "normal"
        @Option(help: "Input columns copied to the output, comma-separated.") var passthrough: String?
        @Option(name: .customLong("id-column"), help: "Entity id column (default: the schema's id_field).") var idColumn: String?
        @Option(name: .customLong("chunk-rows"), help: "Rows per chunk, the unit committed and resumed (default 50000).") var chunkRows: Int?
        @Option(name: .customLong("max-error-rate"), help: "Share of rows that may fail before the job fails (default 0.01).") var maxErrorRate: Double?
        @Flag(help: "The input holds encoded feature columns rather than raw records.") var encoded = false
        @Flag(help: "Write the predictions to the prediction log.") var log = false
        @Flag(help: "Follow the job with a progress bar; exit 0 when done, 1 when it failed or was cancelled.") var wait = false

        func run() async throws {
            try await runClient {
                let client = options.client()
                var body: [String: JSONValue] = ["model": .string(model), "priority": .string(priority)]
                if serverPath {
                    body["input"] = .string(input)
                    if let output { body["output"] = .string(output) }
                } else {
                    guard FileManager.default.fileExists(atPath: input) else { throw ValidationError("no such file: \(input)") }
                    let uploaded = try await Transfer.upload(client, path: input)
                    body["input"] = .string(uploaded)
                    body["uploaded"] = .bool(true)
                    if let output { body["output_format"] = .string(try Transfer.format(of: output)) }
                }
                if let version { body["version"] = .number(Double(version)) }
                if let alias { body["alias"] = .string(alias) }
                if let passthrough { body["passthrough"] = .array(passthrough.split(separator: ",").map { .string($0.trimmingCharacters(in: .whitespaces)) }) }
                if let idColumn { body["id_column"] = .string(idColumn) }
                if let chunkRows { body["chunk_rows"] = .number(Double(chunkRows)) }
                if let maxErrorRate { body["max_error_rate"] = .number(maxErrorRate) }
                if encoded { body["input_kind"] = "encoded" }
                if log { body["log"] = .bool(true) }
                let (job, raw) = try await client.json(.POST, "/jobs", body: .object(body))
                let id = Int64(job["id"]?.doubleValue ?? 0)
                guard wait else {
                    if options.json { return printJSON(raw) }
                    return print(id)
                }
                let final = try await Progress.follow(client, id: id, json: options.json)
                if final["state"]?.stringValue == "done", !serverPath, let output {
                    try await Transfer.download(client, "/jobs/\(id)/output", to: output)
                    if (final["errors"]?.doubleValue ?? 0) > 0 {
                        try await Transfer.download(client, "/jobs/\(id)/errors", to: JobSpec.errorsPath(for: output))
                    }
                }
                try Progress.finish(final, json: options.json, localOutput: serverPath ? nil : output)
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A job's state and progress.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Job id.") var job: Int64

        func run() async throws {
            try await runClient {
                let (v, raw) = try await options.client().json(.GET, "/jobs/\(job)")
                if options.json { return printJSON(raw) }
                print(Progress.describe(v))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Jobs, newest first, with their timings.")
        @OptionGroup var options: ClientOptions
        @Option(help: "Only this model's jobs.") var model: String?
        @Option(help: "Only jobs in this state: queued, running, done, failed, cancelled.") var state: String?
        @Option(help: "At most this many.") var limit: Int = 50

        func run() async throws {
            try await runClient {
                var query = ["limit=\(limit)"]
                if let model { query.append("model=\(urlPath(model))") }
                if let state { query.append("state=\(urlPath(state))") }
                let (v, raw) = try await options.client().json(.GET, "/jobs?" + query.joined(separator: "&"))
                if options.json { return printJSON(raw) }
                let rows = (v["jobs"]?.arrayValue ?? []).map { j in
                    ["id", "model", "version", "state", "priority", "rows_done", "rows_total", "errors", "rows_per_s", "duration_s", "created_at"].map { Table.text(j[$0]) }
                }
                print(Table.render(["ID", "MODEL", "VERSION", "STATE", "PRIORITY", "DONE", "TOTAL", "ERRORS", "ROWS/S", "SECONDS", "CREATED"], rows))
            }
        }
    }

    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Follow a job with a progress bar (plain periodic lines when not on a terminal); exit 0 when done, 1 when it failed or was cancelled.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Job id.") var job: Int64

        func run() async throws {
            try await runClient {
                let final = try await Progress.follow(options.client(), id: job, json: options.json)
                try Progress.finish(final, json: options.json, localOutput: nil)
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a queued or running job (committed chunks are kept for a retry).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Job id.") var job: Int64

        func run() async throws {
            try await runClient {
                let (v, raw) = try await options.client().json(.POST, "/jobs/\(job)/cancel", body: .object([:]))
                if options.json { return printJSON(raw) }
                print(Progress.describe(v))
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Retry a failed or cancelled job from where it stopped.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Job id.") var job: Int64
        @Option(name: .customLong("max-error-rate"), help: "A new error-share limit.") var maxErrorRate: Double?

        func run() async throws {
            try await runClient {
                let body: JSONValue = maxErrorRate.map { .object(["max_error_rate": .number($0)]) } ?? .object([:])
                let (v, raw) = try await options.client().json(.POST, "/jobs/\(job)/retry", body: body)
                if options.json { return printJSON(raw) }
                print(Progress.describe(v))
            }
        }
    }

    struct Download: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Download a done job's output (and with --errors its rows that could not be scored).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Job id.") var job: Int64
        @Option(help: "Local file to write.") var output: String
        @Option(help: "Local file for the errors (CSV line,reason).") var errors: String?

        func run() async throws {
            try await runClient {
                let client = options.client()
                try await Transfer.download(client, "/jobs/\(job)/output", to: output)
                if let errors { try await Transfer.download(client, "/jobs/\(job)/errors", to: errors) }
            }
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Score a file with a model file, no server: the same chunked scoring as jobs, all cores by --threads.")
        @Option(help: "Model file (.json/.ubj XGBoost, .txt LightGBM, .onnx).") var model: String
        @Option(help: "The model's config.yaml with its feature schema (default: config.yaml beside a Triton-layout model).") var schema: String?
        @Option(help: "Input file: .csv, .jsonl or .ndjson, optionally .gz.") var input: String
        @Option(help: "Output file; its extension gives the format.") var output: String
        @Option(help: "Input columns copied to the output, comma-separated.") var passthrough: String?
        @Option(name: .customLong("id-column"), help: "Entity id column (default: the schema's id_field).") var idColumn: String?
        @Option(name: .customLong("chunk-rows"), help: "Rows per chunk (default 50000).") var chunkRows: Int = JobSpec.defaultChunkRows
        @Option(name: .customLong("max-error-rate"), help: "Share of rows that may fail before the run fails (default 0.01).") var maxErrorRate: Double = JobSpec.defaultMaxErrorRate
        @Option(help: "Chunks scored at once (default: the cores).") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
        @Flag(help: "The input holds encoded feature columns rather than raw records.") var encoded = false

        func run() async throws {
            let url = URL(fileURLWithPath: model)
            guard let data = FileManager.default.contents(atPath: url.path) else { throw ValidationError("cannot read model file '\(model)'") }
            var config = ModelConfig()
            let beside = url.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("config.yaml").path
            if let path = schema ?? (FileManager.default.fileExists(atPath: beside) ? beside : nil) {
                config = try ModelConfig.parse(yaml: try String(contentsOfFile: path, encoding: .utf8), source: path)
            }
            let manager = ModelManager(repository: nil, metrics: ServingMetrics())
            let served = try await manager.prepare(
                name: CommandSupport.modelName(model), version: "1", bytes: [UInt8](data), filename: url.lastPathComponent, config: config)
            let summary = try await BatchRunner.run(
                served: served, input: input, output: output, inputKind: encoded ? .encoded : .records,
                passthrough: passthrough.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? [], idColumn: idColumn,
                chunkRows: chunkRows, maxErrorRate: maxErrorRate, threads: threads)
            var w = JSONWriter()
            w.value(.object([
                "rows": .number(Double(summary.rows)), "errors": .number(Double(summary.errors)), "seconds": .number((summary.seconds * 1000).rounded() / 1000),
                "rows_per_s": .number(summary.rowsPerSecond.rounded()), "output": .string(summary.output),
                "errors_output": summary.errorsOutput.map { .string($0) } ?? .null,
            ]))
            print(String(decoding: w.bytes, as: UTF8.self))
        }
    }
}

/// Uploads and downloads, streamed (files may be gigabytes).
enum Transfer {
    /// The server format name of a local output name.
    static func format(of path: String) throws -> String {
        let lower = path.lowercased()
        let gz = lower.hasSuffix(".gz")
        let base = gz ? String(lower.dropLast(3)) : lower
        let kind: String
        if base.hasSuffix(".csv") {
            kind = "csv"
        } else if base.hasSuffix(".jsonl") || base.hasSuffix(".ndjson") {
            kind = "jsonl"
        } else {
            throw ValidationError("--output must end in .csv, .jsonl or .ndjson, optionally .gz")
        }
        return gz ? kind + ".gz" : kind
    }

    static func upload(_ client: APIClient, path: String) async throws -> String {
        let name = URL(fileURLWithPath: path).lastPathComponent
        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ValidationError("cannot read \(path)") }
        let stream = AsyncStream<ByteBuffer> { continuation in
            let thread = Thread {
                while true {
                    let data = handle.readData(ofLength: 1 << 20)
                    if data.isEmpty { break }
                    continuation.yield(ByteBuffer(bytes: data))
                }
                try? handle.close()
                continuation.finish()
            }
            thread.start()
        }
        var request = HTTPClientRequest(url: client.base + "/api/v1/jobs/uploads?filename=" + urlPath(name))
        request.method = .POST
        if let key = client.key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        request.body = .stream(stream, length: .known(size))
        let response = try await HTTPClient.shared.execute(request, timeout: .hours(6))
        var buffer = try await response.body.collect(upTo: 1 << 20)
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        let v = try? JSONParser.parse(bytes, errorCode: .invalidInput)
        guard (200..<300).contains(Int(response.status.code)), let server = v?["path"]?.stringValue else {
            throw APIError(status: Int(response.status.code), message: v?["error"]?.stringValue ?? String(decoding: bytes, as: UTF8.self))
        }
        return server
    }

    static func download(_ client: APIClient, _ path: String, to file: String) async throws {
        var request = HTTPClientRequest(url: client.base + "/api/v1" + path)
        if let key = client.key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        let response = try await HTTPClient.shared.execute(request, timeout: .hours(6))
        guard (200..<300).contains(Int(response.status.code)) else {
            var buffer = try await response.body.collect(upTo: 1 << 20)
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            let message = (try? JSONParser.parse(bytes, errorCode: .invalidInput))?["error"]?.stringValue ?? String(decoding: bytes, as: UTF8.self)
            throw APIError(status: Int(response.status.code), message: message)
        }
        let tmp = file + ".download"
        guard FileManager.default.createFile(atPath: tmp, contents: nil), let handle = FileHandle(forWritingAtPath: tmp) else {
            throw ValidationError("cannot write \(file)")
        }
        do {
            for try await buffer in response.body { handle.write(Data(buffer.readableBytesView)) }
            try handle.close()
        } catch {
            try? handle.close()
            unlink(tmp)
            throw error
        }
        guard rename(tmp, file) == 0 else { throw ValidationError("cannot write \(file)") }
    }
}

/// Following a job: a live bar on a terminal, plain lines every few seconds otherwise.
enum Progress {
    static func follow(_ client: APIClient, id: Int64, json: Bool) async throws -> JSONValue {
        let terminal = isatty(STDERR_FILENO) == 1 && !json
        var lastLine = ContinuousClock.now - .seconds(60)
        while true {
            let (v, _) = try await client.json(.GET, "/jobs/\(id)")
            let state = v["state"]?.stringValue ?? ""
            let finished = ["done", "failed", "cancelled"].contains(state)
            if terminal {
                FileHandle.standardError.write(Data(("\r\u{1B}[2K" + bar(v)).utf8))
                if finished { FileHandle.standardError.write(Data("\n".utf8)) }
            } else if !json, finished || ContinuousClock.now - lastLine >= .seconds(5) {
                FileHandle.standardError.write(Data((describe(v) + "\n").utf8))
                lastLine = .now
            }
            if finished { return v }
            try await Task.sleep(for: terminal ? .milliseconds(250) : .seconds(1))
        }
    }

    /// `job 7 running [#########.........] 48% 480000/1000000 rows · 210000 rows/s · ETA 2s · 3 errors`
    static func bar(_ v: JSONValue) -> String {
        let done = v["rows_done"]?.doubleValue ?? 0
        let total = v["rows_total"]?.doubleValue
        let width = 30
        var line = "job \(Table.text(v["id"])) \(v["state"]?.stringValue ?? "?") "
        if let total, total > 0 {
            let share = min(1, done / total)
            let filled = Int((share * Double(width)).rounded(.down))
            line += "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] \(Int(share * 100))% "
        }
        line += "\(Int64(done))/\(total.map { String(Int64($0)) } ?? "?") rows"
        if let rate = v["rows_per_s"]?.doubleValue { line += " · \(Int64(rate)) rows/s" }
        if let eta = v["eta_s"]?.doubleValue, v["state"]?.stringValue == "running" { line += " · ETA \(Int64(eta.rounded(.up)))s" }
        if let errors = v["errors"]?.doubleValue, errors > 0 { line += " · \(Int64(errors)) errors" }
        return line
    }

    static func describe(_ v: JSONValue) -> String {
        var line = bar(v)
        if let reason = v["reason"]?.stringValue { line += " · \(reason)" }
        if v["state"]?.stringValue == "done", let output = v["output"]?.stringValue { line += " · output \(output)" }
        return line
    }

    /// Prints the summary; exit 1 unless the job is done.
    static func finish(_ v: JSONValue, json: Bool, localOutput: String?) throws {
        if json {
            var w = JSONWriter()
            var o = v.objectValue ?? [:]
            if let localOutput { o["output"] = .string(localOutput) }
            w.value(.object(o))
            print(String(decoding: w.bytes, as: UTF8.self))
        } else {
            var line = describe(v)
            if let localOutput, v["state"]?.stringValue == "done" { line += " · written to \(localOutput)" }
            print(line)
        }
        if v["state"]?.stringValue != "done" { throw ExitCode(1) }
    }
}
