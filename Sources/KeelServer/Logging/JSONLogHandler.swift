import Foundation
import KeelCore
import Logging

/// Writes one JSON object per log line to standard error: time, level, logger label,
/// message and metadata (request_id among it on the request path).
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String

    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { $1 } }
        if let extra = event.metadata { all.merge(extra) { $1 } }
        var w = JSONWriter(capacity: 256)
        w.raw("{\"ts\":")
        w.string(Date().ISO8601Format(.iso8601.time(includingFractionalSeconds: true).year().month().day().dateTimeSeparator(.standard)))
        w.raw(",\"level\":")
        w.string(event.level.rawValue)
        w.raw(",\"logger\":")
        w.string(label)
        w.raw(",\"msg\":")
        w.string(event.message.description)
        for key in all.keys.sorted() {
            w.raw(",")
            w.string(key)
            w.raw(":")
            w.string(all[key]!.description)
        }
        w.raw("}\n")
        FileHandle.standardError.write(Data(w.bytes))
    }
}
