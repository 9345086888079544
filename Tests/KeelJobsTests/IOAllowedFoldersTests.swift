import Foundation
import KeelCore
import Testing

@testable import KeelJobs

@Suite struct IOAllowedFoldersTests {
    let base = IOTempFolder()
    var root: String { base.path + "/data" }
    var outside: String { base.path + "/elsewhere" }

    init() throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: base.path + "/data/in", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: base.path + "/elsewhere", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: base.path + "/data2", withIntermediateDirectories: true)
        base.write("data/in/a.csv", "a\n1\n")
        base.write("elsewhere/secret.csv", "s\n1\n")
        base.write("data2/b.csv", "b\n1\n")
        try fm.createSymbolicLink(atPath: base.path + "/data/link.csv", withDestinationPath: base.path + "/elsewhere/secret.csv")
        try fm.createSymbolicLink(atPath: base.path + "/data/outlink", withDestinationPath: base.path + "/elsewhere")
        try fm.createSymbolicLink(atPath: base.path + "/data/inlink.csv", withDestinationPath: base.path + "/data/in/a.csv")
    }

    func folders() throws -> AllowedFolders { try AllowedFolders([root]) }

    @Test func aFileInsideARootResolves() throws {
        let folders = try folders()
        #expect(folders.roots == [root])
        #expect(try folders.input(root + "/in/a.csv") == root + "/in/a.csv")
        #expect(try folders.input(root + "/in/../in/./a.csv") == root + "/in/a.csv")
        #expect(try folders.input(root + "/inlink.csv") == root + "/in/a.csv")
        #expect(try folders.output(root + "/in/out.csv") == root + "/in/out.csv")
        #expect(try folders.output(root + "/in/a.csv") == root + "/in/a.csv")
    }

    @Test func pathsOutsideTheRootsAreForbidden() throws {
        let folders = try folders()
        for path in [outside + "/secret.csv", root + "/../elsewhere/secret.csv", root + "/../missing.csv", "/etc/passwd", "/nope/x.csv"] {
            expectKeelError(.forbidden, "is outside the allowed folders") { _ = try folders.input(path) }
        }
        for path in [outside + "/new.csv", root + "/../new.csv", root + "/../../x.csv", "/nope/dir/x.csv"] {
            expectKeelError(.forbidden, "is outside the allowed folders") { _ = try folders.output(path) }
        }
    }

    @Test func aSiblingWithTheRootAsPrefixIsOutside() throws {
        let folders = try folders()
        expectKeelError(.forbidden, "is outside the allowed folders") { _ = try folders.input(base.path + "/data2/b.csv") }
        expectKeelError(.forbidden, "is outside the allowed folders") { _ = try folders.output(base.path + "/data2/new.csv") }
    }

    @Test func symbolicLinksPointingOutsideAreForbidden() throws {
        let folders = try folders()
        expectKeelError(.forbidden, "is outside the allowed folders") { _ = try folders.input(root + "/link.csv") }
        expectKeelError(.forbidden, "is outside the allowed folders") { _ = try folders.input(root + "/outlink/secret.csv") }
        expectKeelError(.forbidden, "is outside the allowed folders") { _ = try folders.output(root + "/outlink/new.csv") }
        expectKeelError(.forbidden, "is a symbolic link") { _ = try folders.output(root + "/link.csv") }
        expectKeelError(.forbidden, "is a symbolic link") { _ = try folders.output(root + "/inlink.csv") }
    }

    @Test func missingFilesInsideARootAreNotFound() throws {
        let folders = try folders()
        expectKeelError(.notFound, "not found") { _ = try folders.input(root + "/in/missing.csv") }
        expectKeelError(.notFound, "not found") { _ = try folders.input(root + "/nodir/x/../missing.csv") }
        expectKeelError(.notFound, "does not exist") { _ = try folders.output(root + "/nodir/out.csv") }
    }

    @Test func foldersAndRelativePathsAreRejected() throws {
        let folders = try folders()
        expectKeelError(.invalidInput, "is not a regular file") { _ = try folders.input(root + "/in") }
        expectKeelError(.invalidInput, "is a folder") { _ = try folders.output(root + "/in") }
        expectKeelError(.invalidInput, "must name a file") { _ = try folders.output(root + "/in/") }
        expectKeelError(.invalidInput, "must name a file") { _ = try folders.output(root + "/in/..") }
        expectKeelError(.invalidInput, "must be absolute") { _ = try folders.input("data/in/a.csv") }
    }

    @Test func rootsMustBeExistingFolders() throws {
        expectKeelError(.invalidInput, "does not exist") { _ = try AllowedFolders([base.path + "/nope"]) }
        expectKeelError(.invalidInput, "is not a folder") { _ = try AllowedFolders([root + "/in/a.csv"]) }
        // A root named through a link is stored resolved.
        #expect(try AllowedFolders([root + "/in/.."]).roots == [root])
    }

    @Test func severalRootsEachAllowTheirFiles() throws {
        let folders = try AllowedFolders([root, base.path + "/data2"])
        #expect(try folders.input(base.path + "/data2/b.csv") == base.path + "/data2/b.csv")
        #expect(try folders.input(root + "/in/a.csv") == root + "/in/a.csv")
        expectKeelError(.forbidden, "outside") { _ = try folders.input(outside + "/secret.csv") }
    }
}
