import Foundation
import KeelCore
import KeelTestSupport
import Testing
@testable import KeelStore

/// PostgreSQL connections honour libpq's `sslmode`, `sslrootcert`, `sslcert` and `sslkey`.
/// The live half runs against the test cluster, which scripts/test.sh starts with TLS on and a
/// certificate for 127.0.0.1 from its own CA (`KEEL_TEST_PG_TLS_CA`; `KEEL_TEST_PG_TLS_OTHER_CA`
/// is a CA that did not sign it).
@Suite struct PostgresTLSTests {
    static func refusal(_ url: String) -> String {
        do {
            let parsed = try PostgresURL(url)
            return "ok \(parsed.tls.mode.rawValue)"
        } catch {
            return error.message
        }
    }

    @Test func urlsAreReadAsLibpqReadsThem() throws {
        let folder = TestStores.temporaryDirectory()
        let junk = folder.appendingPathComponent("junk.pem")
        try "not a certificate".write(to: junk, atomically: true, encoding: .utf8)
        #expect(Self.refusal("postgres://keel@db/keel") == "ok prefer")
        for mode in ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] {
            #expect(Self.refusal("postgres://keel@db/keel?sslmode=\(mode)") == "ok \(mode)")
        }
        #expect(Self.refusal("postgres://keel@db/keel?sslmode=always").contains("is not one of disable"))
        #expect(Self.refusal("postgres://keel@db/keel?sslmode=require&sslmode=disable").contains("twice"))
        #expect(Self.refusal("postgres://keel@db/keel?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem").contains("cannot be read"))
        #expect(Self.refusal("postgres://keel@db/keel?sslmode=verify-full&sslrootcert=\(junk.path)").contains("no PEM certificates"))
        #expect(Self.refusal("postgres://keel@db/keel?sslcert=\(junk.path)").contains("go together"))
        #expect(try PostgresURL("postgres://keel@db/keel?sslmode=verify-full").redacted == "postgres://keel@db:5432/keel?sslmode=verify-full")
        // No password in what is logged.
        #expect(try !PostgresURL("postgres://keel:s3cret@db/keel").redacted.contains("s3cret"))
    }

    static var tlsCluster: (url: String, ca: String, otherCA: String)? {
        let env = ProcessInfo.processInfo.environment
        guard let url = env["KEEL_TEST_DATABASE_URL"], let ca = env["KEEL_TEST_PG_TLS_CA"], let other = env["KEEL_TEST_PG_TLS_OTHER_CA"] else {
            return nil
        }
        return (url.split(separator: "?").first.map(String.init) ?? url, ca, other)
    }

    static func onTLS(_ url: String) async throws -> Bool {
        let store = try await PostgresStore(url: url, schema: TestStores.freshSchemaName())
        defer { Task { await store.backend.close() } }
        let row = try await store.backend.transaction(.read) { session in
            try await session.queryOne("SELECT CASE WHEN ssl THEN 1 ELSE 0 END AS on_tls FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        }
        return row?.int("on_tls") == 1
    }

    @Test func theTestClusterIsReachedOverVerifiedTLSAndRefusedUnderAStrangerCA() async throws {
        guard let cluster = Self.tlsCluster else {
            // scripts/test.sh always sets these; under CI their absence is a failure, not a skip.
            #expect(ProcessInfo.processInfo.environment["CI"] != "true", "KEEL_TEST_PG_TLS_CA is not set; run bash scripts/test.sh")
            return
        }
        #expect(try await Self.onTLS("\(cluster.url)?sslmode=verify-full&sslrootcert=\(cluster.ca)"))
        #expect(try await Self.onTLS("\(cluster.url)?sslmode=verify-ca&sslrootcert=\(cluster.ca)"))
        #expect(try await Self.onTLS("\(cluster.url)?sslmode=require"))
        #expect(try await Self.onTLS(cluster.url))  // prefer, the default, takes TLS when offered
        #expect(try await Self.onTLS("\(cluster.url)?sslmode=disable") == false)
        await #expect(throws: KeelError.self) {
            _ = try await Self.onTLS("\(cluster.url)?sslmode=verify-full&sslrootcert=\(cluster.otherCA)")
        }
        await #expect(throws: KeelError.self) {
            _ = try await Self.onTLS("\(cluster.url)?sslmode=require&sslrootcert=\(cluster.otherCA)")
        }
    }
}
