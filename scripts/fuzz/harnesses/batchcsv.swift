#if canImport(Glibc)
import Glibc
#endif
import KeelCore
import KeelJobs

/// The batch-file layer: the input is written to a temporary file and planned and read as
/// CSV, JSON Lines and gzip CSV, with small limits and read blocks so rows cross buffer
/// refills. The first byte picks the chunk size and read block.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBatchCSV(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let knob = Int(bytes.first ?? 0)
    var limits = BatchLimits()
    limits.maxRowBytes = 4096
    limits.maxColumns = 64
    limits.readBlockBytes = 1 + knob % 64
    let chunkRows = 1 + (knob >> 6)
    let base = "/tmp/keel-fuzz-batch-\(getpid())"
    for name in ["in.csv", "in.jsonl", "in.csv.gz"] {
        let path = "\(base)-\(name)"
        guard let f = fopen(path, "wb") else { fatalError("cannot write \(path)") }
        if !bytes.isEmpty { fwrite(bytes, 1, bytes.count, f) }
        fclose(f)
        defer { unlink(path) }
        guard let file = try? BatchFile(path: path) else { fatalError("'\(name)' was not accepted as a batch file") }
        check(file, chunkRows: chunkRows, limits: limits)
    }
    return 0
}

/// Plans the file, reads every chunk, and checks the rows against the plan and a one-chunk read.
func check(_ file: BatchFile, chunkRows: Int, limits: BatchLimits) {
    guard let plan = try? ChunkPlanner.plan(file, chunkRows: chunkRows, limits: limits) else { return }
    let rows = read(file, plan, limits: limits)
    guard Int64(rows.count) == plan.totalRows else { fatalError("read \(rows.count) rows, the plan counted \(plan.totalRows)") }
    if let header = plan.header {
        if header.isEmpty || Set(header).count != header.count { fatalError("the plan accepted a bad header") }
        for row in rows {
            if case .csv(let values) = row.values, values.count != header.count { fatalError("a CSV row has the wrong field count") }
            if case .json = row.values { fatalError("a CSV file produced a JSON row") }
        }
    }
    for (a, b) in zip(rows, rows.dropFirst()) where b.line <= a.line { fatalError("line numbers do not increase") }
    var whole = limits
    whole.readBlockBytes = 1 << 16
    guard let single = try? ChunkPlanner.plan(file, chunkRows: ChunkPlanner.maxChunkRows, limits: whole) else {
        fatalError("the file plans with small reads but not with large ones")
    }
    guard read(file, single, limits: whole) == rows else { fatalError("chunked rows differ from the one-chunk read") }
}

func read(_ file: BatchFile, _ plan: ChunkPlan, limits: BatchLimits) -> [InputRow] {
    var rows: [InputRow] = []
    for chunk in plan.chunks {
        do {
            let reader = try ChunkReader(file, header: plan.header, chunk: chunk, limits: limits)
            while true {
                let got = try reader.next(max: 3)
                if got.isEmpty { break }
                rows += got
            }
        } catch {
            fatalError("a planned chunk failed to read: \(error)")
        }
    }
    return rows
}
