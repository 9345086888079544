import Foundation
import KeelCore
import KeelStore
import KeelTestSupport
import Testing

@Suite struct ArtifactStoreTests {
    @Test func storesContentAddressedUnderTwoHexDigitFolders() throws {
        let store = ArtifactStore(dataDirectory: TestStores.temporaryDirectory())
        let bytes = Array("model bytes".utf8)
        let hash = try store.put(bytes)
        #expect(hash == ArtifactStore.sha256(bytes))
        #expect(hash.count == 64)
        let path = store.path(for: hash).path
        #expect(path.hasSuffix("artifacts/sha256/\(hash.prefix(2))/\(hash)"))
        #expect(try store.load(hash) == bytes)
        #expect(try store.put(bytes) == hash)
    }

    @Test func tamperedArtifactIsRefused() throws {
        let store = ArtifactStore(dataDirectory: TestStores.temporaryDirectory())
        let hash = try store.put(Array("original".utf8))
        try Data("tampered".utf8).write(to: store.path(for: hash))
        let error = #expect(throws: KeelError.self) { try store.load(hash) }
        #expect(error?.message.contains("corrupt") == true)
    }

    @Test func truncatedArtifactIsRefused() throws {
        let store = ArtifactStore(dataDirectory: TestStores.temporaryDirectory())
        let hash = try store.put(Array(repeating: 7, count: 1000))
        try Data(Array(repeating: 7, count: 10)).write(to: store.path(for: hash))
        #expect(throws: KeelError.self) { try store.load(hash) }
    }

    @Test func missingArtifactIsNotFound() throws {
        let store = ArtifactStore(dataDirectory: TestStores.temporaryDirectory())
        let error = #expect(throws: KeelError.self) { try store.load(String(repeating: "0", count: 64)) }
        #expect(error?.code == .notFound)
        #expect(error?.message.contains(store.root.path) == false)
        #expect(error?.logDetail?.contains(store.root.path) == true)
    }

    @Test func hashThatIsNotHexCannotReachOutsideTheFolder() {
        let store = ArtifactStore(dataDirectory: TestStores.temporaryDirectory())
        for bad in ["../../etc/passwd", String(repeating: "g", count: 64), "", String(repeating: "A", count: 64)] {
            #expect(throws: KeelError.self) { try store.load(bad) }
        }
    }
}
