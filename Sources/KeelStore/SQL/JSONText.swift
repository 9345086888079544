import Foundation
import KeelCore

/// JSON text columns: sorted keys so equal values store equal text. Encoding failures are
/// errors, never a silently empty object.
enum JSONText {
    static func encode<T: Encodable>(_ value: T, what: String) throws(KeelError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            throw KeelError(.internal, "cannot store \(what) as JSON", logDetail: String(describing: error))
        }
    }

    /// The decoded value, or nil when the stored text is not what was expected.
    static func decode<T: Decodable>(_ text: String) -> T? {
        try? JSONDecoder().decode(T.self, from: Data(text.utf8))
    }
}
