import Foundation
import KeelCore
import Testing

@testable import KeelJobs

/// A fresh folder under the temporary directory, removed when the test lets go of it.
final class IOTempFolder {
    let path: String

    init() {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("keel-io-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        // Resolved, so paths compare equal to what AllowedFolders returns.
        path = URL(fileURLWithPath: url.path).resolvingSymlinksInPath().path
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `bytes` to `name` in the folder: its path.
    @discardableResult
    func write(_ name: String, bytes: [UInt8]) -> String {
        let file = path + "/" + name
        #expect(FileManager.default.createFile(atPath: file, contents: Data(bytes)))
        return file
    }

    @discardableResult
    func write(_ name: String, _ text: String) -> String { write(name, bytes: Array(text.utf8)) }

    /// Writes `text` gzip-compressed (one member) with FileSink: its path.
    @discardableResult
    func gzip(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        let sink = try FileSink(path: file, gzip: true)
        sink.write(Array(text.utf8))
        try sink.finish()
        return file
    }

    func bytes(_ name: String) -> [UInt8] {
        Array(FileManager.default.contents(atPath: path + "/" + name) ?? Data())
    }
}

/// Every row of a planned file, read chunk by chunk in small batches.
func readChunks(_ file: BatchFile, _ plan: ChunkPlan, batch: Int = 3, limits: BatchLimits = BatchLimits()) throws -> [InputRow] {
    var rows: [InputRow] = []
    for chunk in plan.chunks {
        let reader = try ChunkReader(file, header: plan.header, chunk: chunk, limits: limits)
        var inChunk: [InputRow] = []
        while true {
            let got = try reader.next(max: batch)
            if got.isEmpty { break }
            #expect(got.count <= batch)
            inChunk += got
        }
        #expect(Int64(inChunk.count) == chunk.rows)
        #expect(inChunk.first?.line == chunk.firstLine)
        rows += inChunk
    }
    return rows
}

/// Plans `file` with `chunkRows` and reads every chunk.
func planAndRead(_ file: BatchFile, chunkRows: Int = 1000, limits: BatchLimits = BatchLimits()) throws -> (ChunkPlan, [InputRow]) {
    let plan = try ChunkPlanner.plan(file, chunkRows: chunkRows, limits: limits)
    return (plan, try readChunks(file, plan, limits: limits))
}

/// The CSV values of rows (nil for a row that is not valid CSV).
func csvValues(_ rows: [InputRow]) -> [[String]?] {
    rows.map { if case .csv(let v) = $0.values { v } else { nil } }
}

/// The reason of an invalid row, nil for a valid one.
func invalidReason(_ row: InputRow) -> String? {
    if case .invalid(let reason) = row.values { reason } else { nil }
}

/// Runs `body`, expecting a KeelError with `code` whose message holds `text`.
func expectKeelError(
    _ code: KeelError.Code, _ text: String, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> Void
) {
    do {
        try body()
        Issue.record("expected a \(code) error mentioning '\(text)', nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as KeelError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        #expect(error.message.contains(text), "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected a KeelError, got \(error)", sourceLocation: sourceLocation)
    }
}

/// SplitMix64: the same draws on every machine.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
