import Testing
@testable import KeelServer

/// The path guard's one-pass scan refuses every spelling it names, in either hex case, and lets
/// ordinary paths through.
@Suite struct PathGuardTests {
    @Test func refusedSpellings() {
        let cases: [(String, String)] = [
            ("/v2/models/x/../churn/infer", "'..' segment"), ("/v2/./models", "'.' segment"), ("/v2/models/.", "'.' segment"),
            ("/..", "'..' segment"), ("/v2/models/churn%2Finfer", "%2F"), ("/v2/models/churn%2finfer", "%2F"),
            ("/v2/%2e%2e/x", "%2E"), ("/a%5cb", "%5C"), ("/a%00b", "%00"), ("/a\\b", "backslash"), ("/a\u{01}b", "control"),
            ("/a\u{7F}", "control"), ("/a/%2F", "%2F"), ("/\\/../%2F", "backslash"), ("/..%2F\u{1F}", "control"),
        ]
        for (path, needle) in cases {
            let problem = PathGuardMiddleware.problem(in: path)
            #expect(problem?.contains(needle) == true, "\(path): \(problem ?? "accepted")")
        }
    }

    @Test func ordinaryPathsPass() {
        for path in ["/", "/v2/models/churn/infer", "/v1/models/churn:predict", "/a..b/.c/d.", "/x%20y", "/%2", "/a%2", "/%41", "//v2//models/", "/.../x"] {
            #expect(PathGuardMiddleware.problem(in: path) == nil, "\(path)")
        }
    }
}
