import Foundation
import KeelCore
import Testing
@testable import KeelServer

/// `keel serve` settings: flags over environment over keel.yaml over defaults.
@Suite struct ConfigurationTests {
    @Test func precedenceIsFlagsThenEnvironmentThenFile() throws {
        var flags = ServerConfiguration.Flags()
        flags.port = 9001
        let env = ["KEEL_PORT": "9002", "KEEL_HOST": "0.0.0.0", "KEEL_LOG_LEVEL": "debug"]
        let file: [String: Any] = ["port": 9003, "host": "10.0.0.1", "max_body_bytes": 1234, "model_repository": "/srv/models"]
        let s = try ServerConfiguration.resolve(flags: flags, environment: env, file: file, defaultRepositoryExists: true)
        #expect(s.port == 9001)
        #expect(s.host == "0.0.0.0")
        #expect(s.maxBodyBytes == 1234)
        #expect(s.modelRepository?.path == "/srv/models")
        #expect(s.logLevel == .debug)
    }

    @Test func anUnknownKeelYAMLKeyIsRefusedWithTheNearestName() throws {
        do {
            _ = try ServerConfiguration.resolve(flags: .init(), environment: [:], file: ["port": 9000, "max_body_byte": 10], defaultRepositoryExists: false)
            Issue.record("a typo'd key was accepted")
        } catch {
            #expect(error.message == "keel.yaml: unknown setting 'max_body_byte' (did you mean 'max_body_bytes'?)")
        }
        #expect(throws: KeelError.self) { try ServerConfiguration.resolve(flags: .init(), environment: [:], file: ["zzzzzz": 1], defaultRepositoryExists: false) }
        // A key a flag overrides is still a known key.
        var flags = ServerConfiguration.Flags()
        flags.port = 9001
        flags.batchFolders = ["/srv/in"]
        let s = try ServerConfiguration.resolve(
            flags: flags, environment: ["KEEL_HOST": "0.0.0.0"], file: ["port": 9003, "host": "10.0.0.1", "batch_folders": ["/a"], "cors_origins": "*"],
            defaultRepositoryExists: false)
        #expect(s.port == 9001 && s.batchFolders == ["/srv/in"])
    }

    @Test func defaultsServeTheBundledModels() throws {
        let s = try ServerConfiguration.resolve(flags: .init(), environment: [:], file: [:], defaultRepositoryExists: true)
        #expect(s.port == 8080 && s.host == "127.0.0.1")
        #expect(s.modelRepository?.lastPathComponent == "models")
        let none = try ServerConfiguration.resolve(flags: .init(), environment: [:], file: [:], defaultRepositoryExists: false)
        #expect(none.modelRepository == nil)
    }

    @Test func badValuesAreRefusedByName() {
        #expect(throws: KeelError.self) { try ServerConfiguration.resolve(flags: .init(), environment: ["KEEL_PORT": "eighty"], file: [:], defaultRepositoryExists: false) }
        #expect(throws: KeelError.self) { try ServerConfiguration.resolve(flags: .init(), environment: ["KEEL_PORT": "70000"], file: [:], defaultRepositoryExists: false) }
        #expect(throws: KeelError.self) { try ServerConfiguration.resolve(flags: .init(), environment: ["KEEL_LOG_LEVEL": "loud"], file: [:], defaultRepositoryExists: false) }
    }
}
