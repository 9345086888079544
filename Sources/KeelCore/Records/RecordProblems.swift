/// The problems found while encoding records, bounded: a body full of bad records builds at
/// most `limit` messages, and the error shows the first `shown` of them.
struct RecordProblems {
    /// Problems collected before encoding stops looking for more.
    static let limit = 100
    /// Problems quoted in the error message.
    static let shown = 20

    private(set) var messages: [String] = []

    var isEmpty: Bool { messages.isEmpty }
    var isFull: Bool { messages.count >= Self.limit }

    /// Records a problem; the message is only built while there is room for it. Encoding
    /// stops looking once `isFull`.
    mutating func add(_ message: @autoclosure () -> String) {
        guard !isFull else { return }
        messages.append(message())
    }

    /// The error reporting the collected problems.
    var error: KeelError {
        var text = messages.prefix(Self.shown).joined(separator: "; ")
        if isFull {  // encoding stopped looking: there may be more
            text += "; … and more (stopped after \(Self.limit) problems)"
        } else if messages.count > Self.shown {
            text += "; … \(messages.count - Self.shown) more"
        }
        return .invalidInput(text)
    }

    /// Client text quoted in a message, cut to a readable length.
    static func quote(_ s: String) -> String {
        let head = s.prefix(64)
        return head.endIndex == s.endIndex ? "'\(s)'" : "'\(head)…'"
    }
}
