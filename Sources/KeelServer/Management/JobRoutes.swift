import Foundation
import Hummingbird
import KeelCore
import KeelJobs
import KeelRegistry
import KeelServing

/// `/api/v1/jobs`: batch predictions over files. Uploading an input, submitting, cancelling
/// and retrying need the deployer role; reading jobs and their outputs the viewer role.
struct JobRoutes {
    let jobs: JobsRuntime
    let maxBodyBytes: Int

    var queue: JobQueue { jobs.queue }

    func register(on routes: KeelRoutes) {
        routes.post("/api/v1/jobs/uploads", .deployer, "Upload a batch input file", doc: RouteDoc(
            "The body is the file's bytes, streamed to the data folder's uploads (not held in memory), at most --max-upload-bytes (default 10 GiB). "
                + "`filename` gives its format: .csv, .jsonl or .ndjson, optionally .gz. Answers the server path to submit.",
            parameters: [APIParameter.query("filename", .string(minLength: 1), "Name of the file (its extension gives the format)", required: true, example: "customers.csv")],
            body: RequestBodyDoc("The file", content: [MediaTypeDoc("application/octet-stream", .string)]),
            responses: [.json(.ref("Upload"), status: 201)], errors: [.payloadTooLarge])) { request, context in
            _ = try context.caller()
            return JSONResponse.value(try await upload(request), status: .created)
        }
        routes.post("/api/v1/jobs", .deployer, "Submit a batch job", doc: .json(
            .ref("Job"), "Scores a file on the server (an upload's path, or a file in an allowed folder) with the version production serves now, or `version`/`alias`; "
                + "the version is fixed at submit. Answers at once with the queued job.",
            body: .json(.ref("JobRequest"), "What to score", example: .object(["model": "churn", "input": "keel-data/uploads/customers.csv", "passthrough": .array(["region"])])),
            status: 201, errors: [.notFound, .forbidden])) { request, context in
            let who = try context.caller()
            let submission = try Self.submission(try await RequestBody.collect(request, limit: maxBodyBytes))
            let served = try await jobs.resolve(submission.model, submission.version)
            if submission.inputKind == .records, served.config.featureSchema == nil {
                throw KeelError.invalidInput("model '\(submission.model)' version \(served.version) has no feature schema, so it cannot score raw records; submit with \"input_kind\": \"encoded\"")
            }
            let status = try await queue.submit(submission, version: served.version, idField: served.config.idField, actor: who)
            return JSONResponse.value(status.json, status: .created)
        }
        routes.get("/api/v1/jobs", .viewer, "Batch jobs, newest first", doc: .json(.ref("JobList"), parameters: [
            .query("model", .string, "Only this model's jobs"),
            .query("state", .string(oneOf: JobState.allCases.map(\.rawValue)), "Only jobs in this state"),
            .query("limit", .integer(minimum: 1, maximum: 1000), "At most this many (default 100)"),
        ])) { request, _ in
            let q = request.uri.queryParameters
            var states: [JobState]?
            if let s = q["state"].map(String.init) {
                guard let state = JobState(rawValue: s) else { throw KeelError.invalidInput("state must be one of \(JobState.allCases.map(\.rawValue).joined(separator: ", "))") }
                states = [state]
            }
            var limit = 100
            if let text = q["limit"].map(String.init) {
                guard let n = Int(text), n >= 1, n <= 1000 else { throw KeelError.invalidInput("limit must be an integer from 1 to 1000") }
                limit = n
            }
            let model = try q["model"].map { (s: Substring) throws(KeelError) in try ResourceName.validate(String(s), what: "model name") }
            let list = try await queue.list(model: model, states: states, limit: limit)
            return JSONResponse.value(.object(["jobs": .array(list.map(\.json))]))
        }
        routes.get("/api/v1/jobs/{job}", .viewer, "A job's state and progress", doc: .json(
            .ref("Job"), "Rows done and total, errors, rows per second and the estimated seconds left, live while it runs.", parameters: [Self.jobParameter],
            errors: [.notFound])) { _, context in
            JSONResponse.value(try await queue.status(try Self.jobID(context)).json)
        }
        routes.post("/api/v1/jobs/{job}/cancel", .deployer, "Cancel a queued or running job", doc: .json(
            .ref("Job"), "Committed chunks are kept; a retry carries on from them.", parameters: [Self.jobParameter], errors: [.notFound, .conflict])) { _, context in
            let who = try context.caller()
            return JSONResponse.value(try await queue.cancel(try Self.jobID(context), actor: who).json)
        }
        routes.post("/api/v1/jobs/{job}/retry", .deployer, "Retry a failed or cancelled job from where it stopped", doc: .json(
            .ref("Job"), "Chunks already committed are not scored again. `max_error_rate` replaces the job's limit.", parameters: [Self.jobParameter],
            body: .json(.ref("JobRetry"), "Optional new limit", required: false, example: .object(["max_error_rate": 0.05])),
            errors: [.notFound, .conflict])) { request, context in
            let who = try context.caller()
            let body = try JSONBody(try await RequestBody.collect(request, limit: maxBodyBytes))
            if let unknown = body.value.keys.sorted().first(where: { $0 != "max_error_rate" }) {
                throw KeelError.invalidInput("unknown field '\(unknown)'; a retry takes max_error_rate")
            }
            let rate = try RolloutRoutes.number(body, "max_error_rate")
            return JSONResponse.value(try await queue.retry(try Self.jobID(context), actor: who, maxErrorRate: rate).json)
        }
        routes.get("/api/v1/jobs/{job}/output", .viewer, "Download a done job's output", doc: RouteDoc(
            "The output file as written (gzip-compressed when its name ends in .gz).", parameters: [Self.jobParameter],
            responses: [ResponseDoc(status: 200, "The file", content: [MediaTypeDoc("application/octet-stream", .string)])],
            errors: [.notFound, .conflict])) { _, context in
            let status = try await queue.status(try Self.jobID(context))
            guard status.state == .done else { throw KeelError(.conflict, "job \(status.id) is \(status.state.rawValue); its output is ready once it is done") }
            return try await file(status.output, context)
        }
        routes.get("/api/v1/jobs/{job}/errors", .viewer, "Download a job's rows that could not be scored", doc: RouteDoc(
            "CSV `line,reason`, one row per input row that could not be scored; 404 when there were none.", parameters: [Self.jobParameter],
            responses: [ResponseDoc(status: 200, "The errors file", content: [MediaTypeDoc("text/csv", .string)])],
            errors: [.notFound])) { _, context in
            let status = try await queue.status(try Self.jobID(context))
            guard FileManager.default.fileExists(atPath: status.errorsOutput) else { throw KeelError.notFound("job \(status.id) has no errors file") }
            return try await file(status.errorsOutput, context)
        }
    }

    static let jobParameter = APIParameter("job", in: .path, .integer(minimum: 1), "Job id", example: 1)

    static func jobID(_ context: KeelRequestContext) throws(KeelError) -> Int64 {
        let text = try context.parameter("job")
        guard let id = Int64(text), id > 0 else { throw KeelError.invalidInput("job id must be a positive integer, got '\(text.prefix(40))'") }
        return id
    }

    private func file(_ path: String, _ context: KeelRequestContext) async throws -> Response {
        let body = try await FileIO().loadFile(path: path, context: context)
        var headers = HTTPFields()
        headers[.contentType] = path.hasSuffix(".gz") ? "application/gzip" : (path.hasSuffix(".csv") ? "text/csv" : "application/x-ndjson")
        return Response(status: .ok, headers: headers, body: body)
    }

    /// Streams the body to `uploads/<uuid>-<name>` in the data folder, within the upload limit.
    private func upload(_ request: Request) async throws -> JSONValue {
        guard let raw = request.uri.queryParameters["filename"].map(String.init), !raw.isEmpty else {
            throw KeelError.invalidInput("missing the 'filename' query parameter (its extension gives the format)")
        }
        let name = String(raw.split(separator: "/").last.map(String.init) ?? raw).map { $0.isLetter || $0.isNumber || ".-_".contains($0) ? $0 : "_" }
        guard name.count <= 200 else { throw KeelError.invalidInput("filename is longer than 200 characters") }
        let limit = jobs.maxUploadBytes
        if let text = request.headers[.contentLength] {
            guard let length = Int64(text), length >= 0 else { throw KeelError.invalidInput("Content-Length '\(text.prefix(40))' is not a non-negative integer") }
            if length > limit { throw KeelError(.payloadTooLarge, "upload of \(length) bytes exceeds the limit of \(limit) bytes (--max-upload-bytes)") }
        }
        let path = queue.dataFolder + "/uploads/\(UUID().uuidString.lowercased())-\(String(name))"
        _ = try BatchFile(path: path)
        let sink = try FileSink(path: path + ".part", gzip: false)
        var total: Int64 = 0
        do {
            for try await buffer in request.body {
                total += Int64(buffer.readableBytes)
                if total > limit { throw KeelError(.payloadTooLarge, "upload exceeds the limit of \(limit) bytes (--max-upload-bytes)") }
                buffer.withUnsafeReadableBytes { sink.write($0) }
            }
            try sink.finish()
            guard rename(path + ".part", path) == 0 else { throw KeelError(.internal, "could not store the upload") }
        } catch {
            sink.abandon()
            throw error
        }
        return .object(["path": .string(path), "bytes": .number(Double(total))])
    }

    /// The request body as a submission, every field bounded (the queue checks ranges and paths).
    static func submission(_ bytes: [UInt8]) throws(KeelError) -> JobQueue.Submission {
        let body = try JSONBody(bytes)
        let known: Set = [
            "model", "version", "alias", "input", "output", "output_format", "input_kind", "passthrough", "id_column", "chunk_rows", "max_error_rate", "log",
            "priority", "uploaded",
        ]
        if let unknown = body.value.keys.sorted().first(where: { !known.contains($0) }) {
            throw KeelError.invalidInput("unknown field '\(unknown)'; a job takes \(known.sorted().joined(separator: ", "))")
        }
        let model = try ResourceName.validate(try body.requiredString("model"), what: "model name")
        var version: String?
        if let v = body.value["version"], v != .null {
            guard let n = v.intValue ?? v.stringValue.flatMap({ Int($0) }), n > 0 else { throw KeelError.invalidInput("'version' must be a version number") }
            version = String(n)
        }
        if let alias = try body.string("alias") {
            guard version == nil else { throw KeelError.invalidInput("give 'version' or 'alias', not both") }
            version = try ResourceName.validate(alias, what: "alias")
        }
        var s = JobQueue.Submission(model: model, version: version, input: try body.requiredString("input"))
        s.output = try body.string("output")
        s.outputFormat = try body.string("output_format")
        if let kind = try body.string("input_kind") {
            guard let k = JobSpec.InputKind(rawValue: kind) else { throw KeelError.invalidInput("'input_kind' must be records or encoded") }
            s.inputKind = k
        }
        if let v = body.value["passthrough"], v != .null {
            guard let list = v.arrayValue, list.count <= 1024 else { throw KeelError.invalidInput("'passthrough' must be an array of at most 1024 column names") }
            s.passthrough = try list.map { (x: JSONValue) throws(KeelError) -> String in
                guard let name = x.stringValue else { throw KeelError.invalidInput("'passthrough' must hold column names (strings)") }
                return name
            }
        }
        s.idColumn = try body.string("id_column")
        if let n = try body.int("chunk_rows") { s.chunkRows = n }
        if let r = try RolloutRoutes.number(body, "max_error_rate") { s.maxErrorRate = r }
        s.log = try body.bool("log")
        if let p = try body.string("priority") {
            guard let priority = JobPriority(rawValue: p) else { throw KeelError.invalidInput("'priority' must be high, normal or low") }
            s.priority = priority
        }
        s.uploaded = try body.bool("uploaded")
        return s
    }
}
