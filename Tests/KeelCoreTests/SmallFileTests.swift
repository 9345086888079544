import Foundation
import KeelCore
import Testing

@Suite struct SmallFileTests {
    @Test func hexIsTwoLowercaseDigitsAByte() {
        #expect(Hex.encode([0x00, 0x0f, 0xa5, 0xff]) == "000fa5ff")
        #expect(Hex.encode([UInt8]()) == "")
    }

    @Test func smallFilesAreReadOnlyWithinTheirBound() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("small-file-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("f").path
        try Data("exactly ten".prefix(10).utf8).write(to: URL(fileURLWithPath: path))
        #expect(SmallFile.text(path, limit: 10) == "exactly te")
        #expect(SmallFile.text(path, limit: 9) == nil)
        #expect(SmallFile.text(folder.appendingPathComponent("missing").path, limit: 100) == nil)
        try Data([0xff, 0xfe]).write(to: URL(fileURLWithPath: path))
        #expect(SmallFile.text(path, limit: 100) == nil)
    }
}
