import Foundation
import KeelCore

/// Puts a job's committed part files together, in chunk order, into its output (compressed
/// when its name ends in `.gz`) and its errors file. Each is written under a temporary name
/// beside the final one and renamed into place only when whole, so a crash mid-way leaves
/// the previous file (or none) and assembling again is safe.
enum Assembler {
    /// Part file names of a chunk attempt: predictions and error rows.
    static func partNames(index: Int, attempt: Int, format: BatchFileFormat) -> (part: String, errors: String) {
        let n = String(index).leftPad(6)
        return ("part-\(n)-a\(attempt).\(format.rawValue)", "errors-\(n)-a\(attempt).csv")
    }

    /// The errors part beside a committed part file.
    static func errorsName(ofPart part: String) -> String {
        guard part.hasPrefix("part-"), let dot = part.lastIndex(of: ".") else { return part + ".errors" }
        return "errors-" + part[part.index(part.startIndex, offsetBy: 5)..<dot] + ".csv"
    }

    static let errorsHeader = Array("line,reason\n".utf8)

    /// Writes the output (unless `errorsOnly`) and the errors file from `parts` (in order),
    /// read from `folder`. An errors file is written only when there are errors; an old one
    /// at that path is removed otherwise.
    static func assemble(spec: JobSpec, parts: [String], folder: String, errors: Int64, errorsOnly: Bool = false) throws(KeelError) {
        if !errorsOnly {
            let tmp = spec.output.path + ".keel-tmp"
            let sink = try FileSink(path: tmp, gzip: spec.output.gzip)
            do throws(KeelError) {
                if spec.output.format == .csv, let header = spec.outputHeader { sink.write(Array(header.utf8)) }
                for part in parts { try FileCopy.append(folder + "/" + part, to: sink) }
                try sink.finish()
            } catch {
                sink.abandon()
                throw error
            }
            try ChunkScorer.rename(tmp, to: spec.output.path)
        }
        if errors > 0 {
            let tmp = spec.errorsOutput + ".keel-tmp"
            let sink = try FileSink(path: tmp, gzip: false)
            do throws(KeelError) {
                sink.write(errorsHeader)
                for part in parts {
                    let path = folder + "/" + errorsName(ofPart: part)
                    if FileManager.default.fileExists(atPath: path) { try FileCopy.append(path, to: sink) }
                }
                try sink.finish()
            } catch {
                sink.abandon()
                throw error
            }
            try ChunkScorer.rename(tmp, to: spec.errorsOutput)
        } else {
            unlink(spec.errorsOutput)
        }
    }
}

extension String {
    func leftPad(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
