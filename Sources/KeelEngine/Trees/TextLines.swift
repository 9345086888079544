import KeelCore

/// Lines of a text, read one at a time without splitting the whole text up front (an array of
/// every line would cost 16+ bytes per line: a file of newlines would cost many times its size).
/// A trailing "\r" is dropped from each line.
struct TextLines {
    private let text: Substring
    private var position: String.Index

    init(_ text: String) {
        self.text = text[...]
        position = self.text.startIndex
    }

    /// The next line, or nil at the end of the text.
    mutating func next() -> Substring? {
        guard position < text.endIndex else { return nil }
        let utf8 = text.utf8
        let end = utf8[position...].firstIndex(of: UInt8(ascii: "\n")) ?? text.endIndex
        var line = text[position..<end]
        position = end < text.endIndex ? text.utf8.index(after: end) : end
        if line.utf8.last == UInt8(ascii: "\r") { line = line.dropLast() }
        return line
    }
}

/// The space-separated tokens of a line, visited one at a time.
enum Tokens {
    /// Calls `body` with each non-empty token of `line`.
    static func forEach(in line: Substring, _ body: (Substring) throws(KeelError) -> Void) throws(KeelError) {
        var start = line.startIndex
        let utf8 = line.utf8
        while start < line.endIndex {
            guard let first = utf8[start...].firstIndex(where: { $0 != UInt8(ascii: " ") }) else { return }
            let end = utf8[first...].firstIndex(of: UInt8(ascii: " ")) ?? line.endIndex
            try body(line[first..<end])
            start = end
        }
    }

    /// At most how many tokens `line` can hold (each needs one character and a separator).
    static func maxCount(in line: Substring) -> Int {
        (line.utf8.count + 1) / 2
    }
}
